import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { pageOf } from '../../../platform/http/pagination.js';
import {
  createProviderBody,
  listProvidersQuery,
  providerParams,
  providerView,
  registeredModelView,
  registerModelBody,
  remoteModelsView,
  testResultView,
  updateProviderBody,
} from './schema.js';
import type { ProviderService } from './service.js';

/**
 * External providers. Readers (gateway:read) list them and their remote models; adding, changing,
 * testing, removing them and registering their models takes gateway:write. No route takes an
 * upstream URL or key except the provider's own create and update, which the egress policy checks.
 */
export const providerRoutes: FastifyPluginAsyncZod<{ providers: ProviderService }> = async (
  app,
  { providers },
) => {
  const tags = ['gateway'];
  app.get(
    '/providers',
    {
      config: { auth: 'gateway:read' },
      schema: {
        tags,
        summary: 'External providers (keys are never shown, only whether one is set)',
        querystring: listProvidersQuery,
        response: { 200: pageOf(providerView) },
      },
    },
    async (request) => providers.list(request.ctx(), request.query),
  );
  app.post(
    '/providers',
    {
      config: { auth: 'gateway:write' },
      schema: {
        tags,
        summary:
          'Add a provider: openai (any OpenAI-compatible /v1 root), azure-openai (endpoint, deployment, ' +
          'api_version) or ollama (native API); the base URL must pass the egress policy (POLAR_EGRESS_ALLOW)',
        body: createProviderBody,
        response: { 201: providerView },
      },
    },
    async (request, reply) => reply.code(201).send(await providers.create(request.ctx(), request.body)),
  );
  app.get(
    '/providers/:provider_id',
    {
      config: { auth: 'gateway:read' },
      schema: {
        tags,
        summary: 'One provider, by id or name',
        params: providerParams,
        response: { 200: providerView },
      },
    },
    async (request) => providers.get(request.ctx(), request.params.provider_id),
  );
  app.patch(
    '/providers/:provider_id',
    {
      config: { auth: 'gateway:write' },
      schema: {
        tags,
        summary:
          'Change a provider; api_key null removes it, its mask keeps it; moving base_url to another host needs the key again',
        params: providerParams,
        body: updateProviderBody,
        response: { 200: providerView },
      },
    },
    async (request) => providers.update(request.ctx(), request.params.provider_id, request.body),
  );
  app.delete(
    '/providers/:provider_id',
    {
      config: { auth: 'gateway:write' },
      schema: {
        tags,
        summary: 'Remove a provider (refused while ready model versions point at it)',
        params: providerParams,
      },
    },
    async (request, reply) => {
      await providers.remove(request.ctx(), request.params.provider_id);
      return reply.code(204).send();
    },
  );
  app.post(
    '/providers/:provider_id/test',
    {
      config: { auth: 'gateway:write' },
      schema: {
        tags,
        summary: 'Connectivity test: one authenticated call; a failure answers ok: false with the reason',
        params: providerParams,
        response: { 200: testResultView },
      },
    },
    async (request) => providers.test(request.ctx(), request.params.provider_id),
  );
  app.get(
    '/providers/:provider_id/models',
    {
      config: { auth: 'gateway:read' },
      schema: {
        tags,
        summary: "The provider's remote models (an Azure provider lists its deployment)",
        params: providerParams,
        response: { 200: remoteModelsView },
      },
    },
    async (request) => providers.models(request.ctx(), request.params.provider_id),
  );
  app.post(
    '/providers/:provider_id/models/register',
    {
      config: { auth: 'gateway:write' },
      schema: {
        tags,
        summary: 'Register a remote model as an external version of a registry model (created when missing)',
        params: providerParams,
        body: registerModelBody,
        response: { 201: registeredModelView },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await providers.register(request.ctx(), request.params.provider_id, request.body)),
  );
};
