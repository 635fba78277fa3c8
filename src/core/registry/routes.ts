import multipart from '@fastify/multipart';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { pageOf } from '../../platform/http/pagination.js';
import type { Registry } from './index.js';
import {
  aliasHistoryEntry,
  aliasParams,
  aliasView,
  createModelBody,
  fileParams,
  historyQuery,
  listModelsQuery,
  modelDetail,
  modelParams,
  modelSummary,
  promoteBody,
  reasonBody,
  retireBody,
  setAliasBody,
  updateModelBody,
  versionParams,
  versionView,
} from './schema.js';
import { parseRange, uploadParts } from './upload.js';

export const registryRoutes: FastifyPluginAsyncZod<{ registry: Registry }> = async (app, { registry }) => {
  const { models, versions, aliases, maxUploadBytes } = registry;
  const tags = ['models'];
  // Uploads stream part by part into the artifact store; nothing is buffered in memory.
  await app.register(multipart);

  app.post(
    '/models',
    {
      config: { auth: 'models:write' },
      schema: { tags, summary: 'Register a model', body: createModelBody, response: { 201: modelDetail } },
    },
    async (request, reply) => reply.code(201).send(await models.create(request.ctx(), request.body)),
  );
  app.get(
    '/models',
    {
      config: { auth: 'models:read' },
      schema: {
        tags,
        summary: 'List and search models',
        querystring: listModelsQuery,
        response: { 200: pageOf(modelSummary) },
      },
    },
    async (request) => models.list(request.ctx(), request.query),
  );
  app.get(
    '/models/:id',
    {
      config: { auth: 'models:read' },
      schema: {
        tags,
        summary: 'Get a model by id or name',
        params: modelParams,
        response: { 200: modelDetail },
      },
    },
    async (request) => models.get(request.ctx(), request.params.id),
  );
  app.patch(
    '/models/:id',
    {
      config: { auth: 'models:write' },
      schema: {
        tags,
        summary: 'Change a model (owner or admin)',
        params: modelParams,
        body: updateModelBody,
        response: { 200: modelDetail },
      },
    },
    async (request) => models.update(request.ctx(), request.params.id, request.body),
  );
  app.delete(
    '/models/:id',
    {
      config: { auth: 'models:write' },
      schema: {
        tags,
        summary: 'Delete a model, its versions and the blobs nothing else uses (owner or admin)',
        params: modelParams,
        response: { 200: z.object({ id: z.string(), deleted: z.literal(true), blobs_freed: z.number() }) },
      },
    },
    async (request) => models.remove(request.ctx(), request.params.id),
  );

  app.post(
    '/models/:id/versions',
    {
      config: { auth: 'models:write' },
      schema: {
        tags,
        summary:
          'Add a version: multipart `file` parts (repeatable) with optional source, lineage, metrics, allow_pickle fields; or JSON { external: { provider, model } }',
        params: modelParams,
        response: { 201: versionView },
      },
    },
    async (request, reply) => {
      const ctx = request.ctx();
      const created = request.isMultipart()
        ? await versions.upload(ctx, request.params.id, uploadParts(request, maxUploadBytes))
        : await versions.createExternal(ctx, request.params.id, request.body);
      return reply.code(201).send(created);
    },
  );
  app.get(
    '/models/:id/versions/:version',
    {
      config: { auth: 'models:read' },
      schema: { tags, summary: 'Get one version', params: versionParams, response: { 200: versionView } },
    },
    async (request) => versions.get(request.ctx(), request.params.id, request.params.version),
  );
  app.post(
    '/models/:id/versions/:version/retire',
    {
      config: { auth: 'models:write' },
      schema: {
        tags,
        summary: 'Retire a version: it can no longer be aliased',
        params: versionParams,
        response: { 200: versionView },
      },
    },
    async (request) => versions.retire(request.ctx(), request.params.id, request.params.version),
  );
  app.get(
    '/models/:id/versions/:version/files/*',
    {
      config: { auth: 'models:read' },
      schema: { tags, summary: "Download a version's file (Range requests supported)", params: fileParams },
    },
    async (request, reply) => {
      const { id, version, '*': path } = request.params;
      const f = await versions.openFile(request.ctx(), id, version, path, parseRange(request.headers.range));
      reply
        .header('accept-ranges', 'bytes')
        .header('etag', `"${f.sha256}"`)
        .header('content-type', 'application/octet-stream')
        .header(
          'content-disposition',
          `attachment; filename*=UTF-8''${encodeURIComponent(f.path.split('/').pop()!)}`,
        );
      if (f.range) {
        reply
          .code(206)
          .header('content-range', `bytes ${f.range.start}-${f.range.end}/${f.size}`)
          .header('content-length', String(f.range.end - f.range.start + 1));
      } else reply.header('content-length', String(f.size));
      return reply.send(f.stream);
    },
  );

  app.put(
    '/models/:id/aliases/:alias',
    {
      config: { auth: 'models:write' },
      schema: {
        tags,
        summary: 'Point an alias at a version',
        params: aliasParams,
        body: setAliasBody,
        response: { 200: aliasView },
      },
    },
    async (request) => aliases.set(request.ctx(), request.params.id, request.params.alias, request.body),
  );
  app.delete(
    '/models/:id/aliases/:alias',
    {
      config: { auth: 'models:write' },
      schema: { tags, summary: 'Remove an alias', params: aliasParams, response: { 200: aliasView } },
    },
    async (request) => aliases.remove(request.ctx(), request.params.id, request.params.alias, ''),
  );
  app.get(
    '/models/:id/aliases/:alias/history',
    {
      config: { auth: 'models:read' },
      schema: {
        tags,
        summary: "An alias's changes, newest first: who, when, from → to, reason",
        params: aliasParams,
        querystring: historyQuery,
        response: { 200: pageOf(aliasHistoryEntry) },
      },
    },
    async (request) => aliases.history(request.ctx(), request.params.id, request.params.alias, request.query),
  );
  app.post(
    '/models/:id/aliases/:alias/rollback',
    {
      config: { auth: 'models:write' },
      schema: {
        tags,
        summary: 'Point the alias back at the version it had before its last change',
        params: aliasParams,
        body: reasonBody,
        response: { 200: aliasView },
      },
    },
    async (request) =>
      aliases.rollback(request.ctx(), request.params.id, request.params.alias, request.body.reason),
  );

  // Seed 001's endpoints, kept as thin aliases of the ones above.
  app.post(
    '/models/:id/promote',
    {
      config: { auth: 'models:write' },
      schema: {
        tags,
        summary: 'Point the production (or staging) alias at a version',
        params: modelParams,
        body: promoteBody,
        response: { 200: aliasView },
      },
    },
    async (request) =>
      aliases.set(request.ctx(), request.params.id, request.body.stage, {
        version: request.body.version,
        reason: request.body.reason || 'promote',
      }),
  );
  app.post(
    '/models/:id/retire',
    {
      config: { auth: 'models:write' },
      schema: {
        tags,
        summary: 'Retire a version',
        params: modelParams,
        body: retireBody,
        response: { 200: versionView },
      },
    },
    async (request) => versions.retire(request.ctx(), request.params.id, request.body.version),
  );
};
