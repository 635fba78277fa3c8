import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { pageOf } from '../../platform/http/pagination.js';
import {
  compareQuery,
  createExperimentBody,
  experimentParams,
  experimentView,
  listExperimentsQuery,
  listRunsQuery,
  patchExperimentBody,
  patchRunBody,
  runComparison,
  runDetail,
  runParams,
  runView,
} from './schema.js';
import type { ExperimentService } from './service.js';

export const experimentRoutes: FastifyPluginAsyncZod<{ experiments: ExperimentService }> = async (
  app,
  { experiments },
) => {
  const tags = ['experiments'];
  const read = { auth: 'training:read' } as const;
  const write = { auth: 'training:write' } as const;
  app.post(
    '/experiments',
    {
      config: write,
      schema: {
        tags,
        summary:
          'Create an experiment (names are unique among yours); jobs join it with "experiment": "<name>"',
        body: createExperimentBody,
        response: { 201: experimentView },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await experiments.createExperiment(request.ctx(), request.body)),
  );
  app.get(
    '/experiments',
    {
      config: read,
      schema: {
        tags,
        summary: 'List your experiments, newest first, with their number of runs (admins: everyone’s)',
        querystring: listExperimentsQuery,
        response: { 200: pageOf(experimentView) },
      },
    },
    async (request) => experiments.listExperiments(request.ctx(), request.query),
  );
  app.get(
    '/experiments/:experiment_id',
    {
      config: read,
      schema: {
        tags,
        summary: 'An experiment, by id or by the name of one of yours',
        params: experimentParams,
        response: { 200: experimentView },
      },
    },
    async (request) => experiments.getExperiment(request.ctx(), request.params.experiment_id),
  );
  app.patch(
    '/experiments/:experiment_id',
    {
      config: write,
      schema: {
        tags,
        summary: 'Change an experiment’s description or tags',
        params: experimentParams,
        body: patchExperimentBody,
        response: { 200: experimentView },
      },
    },
    async (request) => experiments.patchExperiment(request.ctx(), request.params.experiment_id, request.body),
  );
  app.delete(
    '/experiments/:experiment_id',
    {
      config: write,
      schema: {
        tags,
        summary:
          'Delete an experiment and its runs (409 while a run is active); the jobs and model versions stay',
        params: experimentParams,
        response: { 204: z.null() },
      },
    },
    async (request, reply) => {
      await experiments.deleteExperiment(request.ctx(), request.params.experiment_id);
      return reply.code(204).send(null);
    },
  );
  app.get(
    '/runs',
    {
      config: read,
      schema: {
        tags,
        summary:
          'List runs: ?experiment=, status=, tag=key[:value], filter=metrics.accuracy>0.9 (and params., tags.), ' +
          'order_by=metrics.accuracy desc',
        querystring: listRunsQuery,
        response: { 200: pageOf(runView) },
      },
    },
    async (request) => experiments.listRuns(request.ctx(), request.query),
  );
  app.get(
    '/runs/compare',
    {
      config: read,
      schema: {
        tags,
        summary:
          'Compare 2–10 runs (?ids=a,b,c): params that differ, metrics side by side, series to overlay',
        querystring: compareQuery,
        response: { 200: runComparison },
      },
    },
    async (request) => experiments.compare(request.ctx(), request.query.ids),
  );
  app.get(
    '/runs/:run_id',
    {
      config: read,
      schema: {
        tags,
        summary: 'A run: params, final metrics, tags, artifacts and the metric series of its job',
        params: runParams,
        response: { 200: runDetail },
      },
    },
    async (request) => experiments.getRun(request.ctx(), request.params.run_id),
  );
  app.patch(
    '/runs/:run_id',
    {
      config: write,
      schema: {
        tags,
        summary: 'Set or remove (null) tags of a run',
        params: runParams,
        body: patchRunBody,
        response: { 200: runView },
      },
    },
    async (request) => experiments.patchRun(request.ctx(), request.params.run_id, request.body),
  );
};
