import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import {
  etagOf,
  expectedVersion,
  ifMatchHeaders,
  modelParams,
  parametersReset,
  parametersUpdated,
  parametersView,
  updateParametersBody,
} from './schema.js';
import type { ParameterService } from './service.js';

export const parameterRoutes: FastifyPluginAsyncZod<{ parameters: ParameterService }> = async (
  app,
  { parameters },
) => {
  const tags = ['models'];

  app.get(
    '/models/:id/parameters',
    {
      config: { auth: 'models:read' },
      schema: {
        tags,
        summary:
          "A model's generation parameters: its stored values over the defaults; the ETag is their version",
        params: modelParams,
        response: { 200: parametersView },
      },
    },
    async (request, reply) => {
      const r = await parameters.get(request.ctx(), request.params.id);
      return reply.header('etag', etagOf(r.version)).send(r.body);
    },
  );
  app.put(
    '/models/:id/parameters',
    {
      config: { auth: 'models:write' },
      schema: {
        tags,
        summary:
          'Change some generation parameters of a model (owner or admin); If-Match makes it conditional',
        params: modelParams,
        headers: ifMatchHeaders,
        body: updateParametersBody,
        response: { 200: parametersUpdated },
      },
    },
    async (request, reply) => {
      const r = await parameters.update(request.ctx(), request.params.id, {
        parameters: request.body.parameters,
        expectedVersion: expectedVersion(request.headers['if-match']),
      });
      return reply.header('etag', etagOf(r.version)).send(r.body);
    },
  );
  app.post(
    '/models/:id/parameters/reset',
    {
      config: { auth: 'models:write' },
      schema: {
        tags,
        summary: "Return a model's generation parameters to the defaults (owner or admin)",
        params: modelParams,
        headers: ifMatchHeaders,
        response: { 200: parametersReset },
      },
    },
    async (request, reply) => {
      const r = await parameters.reset(request.ctx(), request.params.id, {
        expectedVersion: expectedVersion(request.headers['if-match']),
      });
      return reply.header('etag', etagOf(r.version)).send(r.body);
    },
  );
};
