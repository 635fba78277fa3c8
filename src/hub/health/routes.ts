import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { problemSchema } from '../../platform/http/problem.js';
import { detailedHealth, liveness, readiness } from './schema.js';
import type { HealthService } from './service.js';

/**
 * Probes are exempt from the API rate limit: behind a load balancer they share one client IP with
 * real traffic, and a throttled probe would restart or unroute a healthy node.
 */
const probe = { auth: 'public', rateLimit: false } as const;

export const healthRoutes: FastifyPluginAsyncZod<{ health: HealthService }> = async (app, { health }) => {
  const tags = ['health'];
  app.get(
    '/health',
    {
      config: probe,
      schema: { tags, summary: 'Liveness: the process serves HTTP', response: { 200: liveness } },
    },
    async () => health.liveness(),
  );
  app.get(
    '/api/v1/health',
    {
      config: probe,
      schema: { tags, summary: 'Liveness (seed 003 path)', response: { 200: liveness } },
    },
    async () => health.liveness(),
  );
  app.get(
    '/health/ready',
    {
      config: probe,
      schema: {
        tags,
        summary: 'Readiness: the database answers and every migration is applied (503 otherwise)',
        response: { 200: readiness, 503: problemSchema },
      },
    },
    async () => health.readiness(),
  );
  app.get(
    '/health/detailed',
    {
      config: { auth: 'admin:system' },
      schema: {
        tags,
        summary: 'Every component with its status and latency (admin)',
        response: { 200: detailedHealth },
      },
    },
    async () => health.detailed(),
  );
};
