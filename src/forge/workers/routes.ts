import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { scaleBody, trainingWorker, workerList, workerParams } from './schema.js';
import type { WorkerService } from './service.js';

/**
 * Anyone who may train sees the workers (job ids only of their own jobs); changing the pool affects
 * every user's jobs, so it takes admin:system.
 */
export const workerRoutes: FastifyPluginAsyncZod<{ workers: WorkerService }> = async (app, { workers }) => {
  const tags = ['training'];
  app.get(
    '/workers',
    {
      config: { auth: 'training:read' },
      schema: {
        tags,
        summary:
          'Training workers of every node: state (idle, busy, draining, stopped), current job, heartbeat',
        response: { 200: workerList },
      },
    },
    async (request) => workers.list(request.ctx()),
  );
  app.post(
    '/workers/scale',
    {
      config: { auth: 'admin:system' },
      schema: {
        tags,
        summary:
          'Resize this node’s pool until restart (forge/workers.count sets it for good); busy workers finish first',
        body: scaleBody,
        response: { 200: workerList },
      },
    },
    async (request) => workers.scale(request.ctx(), request.body.count),
  );
  const command = (verb: 'drain' | 'stop' | 'start', summary: string) =>
    app.post(
      `/workers/:worker_id/${verb}`,
      {
        config: { auth: 'admin:system' },
        schema: { tags, summary, params: workerParams, response: { 200: trainingWorker } },
      },
      async (request) => workers[verb](request.ctx(), request.params.worker_id),
    );
  command('drain', 'Let a worker finish its job and take no new one (it is then stopped)');
  command('stop', 'Stop a worker now: its job goes back to the queue, attempt not counted');
  command('start', 'Let a stopped or draining worker take jobs again');
};
