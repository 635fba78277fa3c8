import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { pageOf } from '../../platform/http/pagination.js';
import { downloadBody, downloadJob, downloadParams, listDownloadsQuery } from './schema.js';
import type { DownloadService } from './service.js';

export const downloadRoutes: FastifyPluginAsyncZod<{ downloads: DownloadService }> = async (
  app,
  { downloads },
) => {
  const tags = ['models'];
  app.post(
    '/models/download',
    {
      config: { auth: 'models:write' },
      schema: {
        tags,
        summary: 'Import a model from the Hugging Face Hub (a job: poll it or listen on /ws topic models)',
        body: downloadBody,
        response: { 202: downloadJob },
      },
    },
    async (request, reply) => reply.code(202).send(await downloads.start(request.ctx(), request.body)),
  );
  app.get(
    '/models/download',
    {
      config: { auth: 'models:write' },
      schema: {
        tags,
        summary: 'List your downloads (admins: everyone’s)',
        querystring: listDownloadsQuery,
        response: { 200: pageOf(downloadJob) },
      },
    },
    async (request) => downloads.list(request.ctx(), request.query),
  );
  app.get(
    '/models/download/:job_id',
    {
      config: { auth: 'models:write' },
      schema: { tags, summary: 'Get a download job', params: downloadParams, response: { 200: downloadJob } },
    },
    async (request) => downloads.get(request.ctx(), request.params.job_id),
  );
  app.post(
    '/models/download/:job_id/cancel',
    {
      config: { auth: 'models:write' },
      schema: {
        tags,
        summary: 'Cancel a download; its partial files are removed',
        params: downloadParams,
        response: { 200: downloadJob },
      },
    },
    async (request) => downloads.cancel(request.ctx(), request.params.job_id),
  );
};
