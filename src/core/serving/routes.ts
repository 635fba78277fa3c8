import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { loadBody, loadResult, modelParams, runtimeView, unloadBody, unloadResult } from './schema.js';
import type { ServingService } from './service.js';

export const servingRoutes: FastifyPluginAsyncZod<{ serving: ServingService }> = async (app, { serving }) => {
  const tags = ['runtime'];
  app.post(
    '/models/:id/load',
    {
      config: { auth: 'models:write' },
      schema: {
        tags,
        summary: 'Load a version into memory (waits until it serves)',
        params: modelParams,
        body: loadBody,
        response: { 200: loadResult },
      },
    },
    async (request) => serving.load(request.ctx(), request.params.id, request.body),
  );
  app.post(
    '/models/:id/unload',
    {
      config: { auth: 'models:write' },
      schema: {
        tags,
        summary: 'Unload a model (every loaded version, or one)',
        params: modelParams,
        body: unloadBody,
        response: { 200: unloadResult },
      },
    },
    async (request) => serving.unload(request.ctx(), request.params.id, request.body),
  );
  app.get(
    '/runtime',
    {
      config: { auth: 'models:read' },
      schema: {
        tags,
        summary: 'Loaded models, their memory and the loading policy',
        response: { 200: runtimeView },
      },
    },
    async (request) => serving.overview(request.ctx()),
  );
};
