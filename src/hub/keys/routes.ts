import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { pageOf } from '../../platform/http/pagination.js';
import { createdKey, createKeyBody, keyIdParams, keyView, listKeysQuery } from './schema.js';
import type { KeyService } from './service.js';

export const keyRoutes: FastifyPluginAsyncZod<{ keys: KeyService }> = async (app, { keys }) => {
  const tags = ['keys'];
  app.post(
    '/keys',
    {
      config: { auth: 'keys:write' },
      schema: {
        tags,
        summary: 'Create an API key; the key is shown only in this answer',
        body: createKeyBody,
        response: { 201: createdKey },
      },
    },
    async (request, reply) => reply.code(201).send(await keys.create(request.ctx(), request.body)),
  );
  app.get(
    '/keys',
    {
      config: { auth: 'keys:read' },
      schema: {
        tags,
        summary: 'List your API keys (admins: ?user_id= or ?all=true)',
        querystring: listKeysQuery,
        response: { 200: pageOf(keyView) },
      },
    },
    async (request) => keys.list(request.ctx(), request.query),
  );
  app.get(
    '/keys/:id',
    {
      config: { auth: 'keys:read' },
      schema: { tags, summary: 'Get one API key', params: keyIdParams, response: { 200: keyView } },
    },
    async (request) => keys.get(request.ctx(), request.params.id),
  );
  app.delete(
    '/keys/:id',
    {
      config: { auth: 'keys:write' },
      schema: {
        tags,
        summary: 'Revoke an API key (it stops working at once)',
        params: keyIdParams,
        response: { 200: keyView },
      },
    },
    async (request) => keys.revoke(request.ctx(), request.params.id),
  );
};
