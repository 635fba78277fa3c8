import multipart from '@fastify/multipart';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { pageOf } from '../../platform/http/pagination.js';
import { invalidField, notMultipart } from './errors.js';
import type { Datasets } from './index.js';
import {
  datasetDetail,
  datasetParams,
  datasetSummary,
  datasetVersionParams,
  deleteResult,
  exportQuery,
  listDatasetsQuery,
  previewQuery,
  previewView,
  updateDatasetBody,
  uploadResult,
  versionDetail,
} from './schema.js';
import type { UploadPart } from './uploads.js';

/** The parts of a multipart dataset upload, streamed: the file is never buffered whole. */
async function* uploadParts(request: FastifyRequest, maxBytes: number): AsyncGenerator<UploadPart> {
  if (!request.isMultipart()) throw notMultipart();
  const parts = request.parts({
    // One byte above the dataset limit, so the upload's own count answers 413 first.
    limits: { fileSize: maxBytes + 1, files: 2, fields: 10, fieldSize: 64 * 1024, parts: 12 },
  });
  for await (const part of parts) {
    if (part.type === 'file') {
      if (part.fieldname !== 'file') throw invalidField(part.fieldname, "the file part must be named 'file'");
      yield { kind: 'file', filename: part.filename, stream: part.file };
    } else {
      const v = part.value;
      yield { kind: 'field', name: part.fieldname, value: typeof v === 'string' ? v : JSON.stringify(v) };
    }
  }
}

const fileSummary =
  'multipart/form-data with one `file` part: CSV, a JSON array of objects, or JSON Lines, recognised by content';

export const datasetRoutes: FastifyPluginAsyncZod<{ datasets: Datasets }> = async (app, { datasets }) => {
  const { service, uploads } = datasets;
  const tags = ['datasets'];
  await app.register(multipart);

  app.post(
    '/datasets',
    {
      config: { auth: 'datasets:write' },
      schema: {
        tags,
        summary: `Upload a dataset: ${fileSummary}, and fields name, description, visibility (private | shared)`,
        response: { 201: uploadResult },
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(await uploads.create(request.ctx(), uploadParts(request, datasets.limits().maxBytes))),
  );
  app.get(
    '/datasets',
    {
      config: { auth: 'datasets:read' },
      schema: {
        tags,
        summary: 'List datasets the caller may see (own, shared; admins all), by name',
        querystring: listDatasetsQuery,
        response: { 200: pageOf(datasetSummary) },
      },
    },
    async (request) => service.list(request.ctx(), request.query),
  );
  app.get(
    '/datasets/:id',
    {
      config: { auth: 'datasets:read' },
      schema: {
        tags,
        summary: 'A dataset by id or name, its versions and the latest schema and statistics',
        params: datasetParams,
        response: { 200: datasetDetail },
      },
    },
    async (request) => service.get(request.ctx(), request.params.id),
  );
  app.patch(
    '/datasets/:id',
    {
      config: { auth: 'datasets:write' },
      schema: {
        tags,
        summary: "Change a dataset's description or visibility (owner or admin)",
        params: datasetParams,
        body: updateDatasetBody,
        response: { 200: datasetDetail },
      },
    },
    async (request) => service.update(request.ctx(), request.params.id, request.body),
  );
  app.delete(
    '/datasets/:id',
    {
      config: { auth: 'datasets:write' },
      schema: {
        tags,
        summary: 'Delete a dataset, its versions and the files nothing else uses (owner or admin)',
        params: datasetParams,
        response: { 200: deleteResult },
      },
    },
    async (request) => service.remove(request.ctx(), request.params.id),
  );
  app.post(
    '/datasets/:id/versions',
    {
      config: { auth: 'datasets:write' },
      schema: {
        tags,
        summary: `Add a version (owner or admin): ${fileSummary}`,
        params: datasetParams,
        response: { 201: uploadResult },
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(
          await uploads.addVersion(
            request.ctx(),
            request.params.id,
            uploadParts(request, datasets.limits().maxBytes),
          ),
        ),
  );
  app.get(
    '/datasets/:id/versions/:version',
    {
      config: { auth: 'datasets:read' },
      schema: {
        tags,
        summary: "One version's schema and statistics",
        params: datasetVersionParams,
        response: { 200: versionDetail },
      },
    },
    async (request) => service.version(request.ctx(), request.params.id, request.params.version),
  );
  app.get(
    '/datasets/:id/preview',
    {
      config: { auth: 'datasets:read' },
      schema: {
        tags,
        summary: 'The first rows of a version (the latest unless `version` is given)',
        params: datasetParams,
        querystring: previewQuery,
        response: { 200: previewView },
      },
    },
    async (request) => service.preview(request.ctx(), request.params.id, request.query),
  );
  app.get(
    '/datasets/:id/versions/:version/export',
    {
      config: { auth: 'datasets:read' },
      schema: {
        tags,
        summary:
          'Download a version as CSV (cells that start like a spreadsheet formula get a leading quote) or JSON Lines',
        params: datasetVersionParams,
        querystring: exportQuery,
      },
    },
    async (request, reply) => {
      const { id, version } = request.params;
      const out = await service.export(request.ctx(), id, version, request.query.format);
      return reply
        .header('content-type', out.contentType)
        .header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(out.filename)}`)
        .send(out.stream);
    },
  );
};
