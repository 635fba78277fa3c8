import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { searchParams, searchView } from './schema.js';
import type { TuningService } from './service.js';
import { tuneBody } from './spec.js';

export const tuningRoutes: FastifyPluginAsyncZod<{ tuning: TuningService }> = async (app, { tuning }) => {
  const tags = ['training'];
  app.post(
    '/training/tune',
    {
      config: { auth: 'training:write' },
      schema: {
        tags,
        summary:
          'Start a hyperparameter search (202): grid, random or successive halving over step config fields; ' +
          'each trial is a training job and an experiment run, and the best trial’s pipeline is registered once',
        body: tuneBody,
        response: { 202: searchView },
      },
    },
    async (request, reply) => reply.code(202).send(await tuning.create(request.ctx(), request.body)),
  );
  app.get(
    '/training/tune/:job_id',
    {
      config: { auth: 'training:read' },
      schema: {
        tags,
        summary: 'A search: its parent job, every trial with its params and metric, and the best trial',
        params: searchParams,
        response: { 200: searchView },
      },
    },
    async (request) => tuning.get(request.ctx(), request.params.job_id),
  );
  app.post(
    '/training/tune/:job_id/cancel',
    {
      config: { auth: 'training:write' },
      schema: {
        tags,
        summary: 'Cancel a search: its parent job and every trial still queued or running',
        params: searchParams,
        response: { 200: searchView },
      },
    },
    async (request) => tuning.cancel(request.ctx(), request.params.job_id),
  );
};
