import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { pageOf } from '../../platform/http/pagination.js';
import {
  jobLogsPage,
  jobMetrics,
  jobParams,
  listJobsQuery,
  logsQuery,
  metricsQuery,
  trainingJob,
} from './schema.js';
import type { TrainingService } from './service.js';
import { trainingSpec } from './spec.js';

export const trainingRoutes: FastifyPluginAsyncZod<{ training: TrainingService }> = async (
  app,
  { training },
) => {
  const tags = ['training'];
  app.post(
    '/training/dispatch',
    {
      config: { auth: 'training:write' },
      schema: {
        tags,
        summary:
          'Dispatch a training job (202): poll GET /training/{job_id} or listen on /ws topic training; ' +
          'a succeeded job registers a polar-tabular model version',
        body: trainingSpec,
        response: { 202: trainingJob },
      },
    },
    async (request, reply) => reply.code(202).send(await training.dispatch(request.ctx(), request.body)),
  );
  app.get(
    '/training',
    {
      config: { auth: 'training:read' },
      schema: {
        tags,
        summary: 'List your training jobs, newest first (admins: everyone’s, or one owner’s)',
        querystring: listJobsQuery,
        response: { 200: pageOf(trainingJob) },
      },
    },
    async (request) => training.list(request.ctx(), request.query),
  );
  app.get(
    '/training/:job_id',
    {
      config: { auth: 'training:read' },
      schema: {
        tags,
        summary: 'A training job: state, progress, ETA, attempts, error, metrics and result',
        params: jobParams,
        response: { 200: trainingJob },
      },
    },
    async (request) => training.get(request.ctx(), request.params.job_id),
  );
  app.get(
    '/training/:job_id/logs',
    {
      config: { auth: 'training:read' },
      schema: {
        tags,
        summary: 'Log lines of every attempt, oldest first; resume with ?after=<next_after>',
        params: jobParams,
        querystring: logsQuery,
        response: { 200: jobLogsPage },
      },
    },
    async (request) => training.logs(request.ctx(), request.params.job_id, request.query),
  );
  app.get(
    '/training/:job_id/metrics',
    {
      config: { auth: 'training:read' },
      schema: {
        tags,
        summary: 'Final metrics and the series reported per iteration or epoch (latest attempt by default)',
        params: jobParams,
        querystring: metricsQuery,
        response: { 200: jobMetrics },
      },
    },
    async (request) => training.metrics(request.ctx(), request.params.job_id, request.query),
  );
  app.post(
    '/training/:job_id/cancel',
    {
      config: { auth: 'training:write' },
      schema: {
        tags,
        summary: 'Cancel a job: a queued one at once, a running one’s trainer is killed within seconds',
        params: jobParams,
        response: { 200: trainingJob },
      },
    },
    async (request) => training.cancel(request.ctx(), request.params.job_id),
  );
};
