import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { pageOf } from '../../platform/http/pagination.js';
import {
  auditQuery,
  etagOf,
  expectedVersion,
  historyQuery,
  ifMatchHeaders,
  scopeParams,
  sectionParams,
  settingsChange,
  settingsList,
  settingsSchemaList,
  settingsSection,
  updateBody,
  updateQuery,
} from './schema.js';
import type { SettingsService } from './service.js';

/**
 * `/settings/schema` and `/settings/audit` are static routes, which the router matches before the
 * `/settings/:scope` parameter (and the registry refuses scopes with those names).
 */
export const settingsRoutes: FastifyPluginAsyncZod<{ settings: SettingsService }> = async (
  app,
  { settings },
) => {
  const tags = ['settings'];
  app.get(
    '/settings/schema',
    {
      config: { auth: 'settings:read' },
      schema: {
        tags,
        summary: 'Every settings section with its fields: type, default, bounds, secret flag',
        response: { 200: settingsSchemaList },
      },
    },
    async () => ({ items: settings.describe(), next_cursor: null }),
  );
  app.get(
    '/settings/audit',
    {
      config: { auth: 'settings:read' },
      schema: {
        tags,
        summary: 'Change history of every section, newest first (secrets masked)',
        querystring: auditQuery,
        response: { 200: pageOf(settingsChange) },
      },
    },
    async (request) => settings.history(request.ctx(), request.query),
  );
  app.get(
    '/settings',
    {
      config: { auth: 'settings:read' },
      schema: { tags, summary: 'Current values of every section', response: { 200: settingsList } },
    },
    async (request) => ({ items: settings.list(request.ctx()), next_cursor: null }),
  );
  app.get(
    '/settings/:scope',
    {
      config: { auth: 'settings:read' },
      schema: {
        tags,
        summary: 'Current values of the sections of one scope',
        params: scopeParams,
        response: { 200: settingsList },
      },
    },
    async (request) => ({
      items: settings.listScope(request.ctx(), request.params.scope),
      next_cursor: null,
    }),
  );
  app.get(
    '/settings/:scope/:section',
    {
      config: { auth: 'settings:read' },
      schema: {
        tags,
        summary: 'Current values of one section; its ETag is the version',
        params: sectionParams,
        response: { 200: settingsSection },
      },
    },
    async (request, reply) => {
      const s = settings.read(request.ctx(), request.params);
      return reply.header('etag', etagOf(s.version)).send(s);
    },
  );
  app.put(
    '/settings/:scope/:section',
    {
      config: { auth: 'settings:write' },
      schema: {
        tags,
        summary: 'Change fields of a section; applies at once on every node',
        params: sectionParams,
        querystring: updateQuery,
        headers: ifMatchHeaders,
        body: updateBody,
        response: { 200: settingsSection },
      },
    },
    async (request, reply) => {
      const s = await settings.update(request.ctx(), {
        ...request.params,
        values: request.body,
        expectedVersion: expectedVersion(request.headers['if-match'], request.query.version),
      });
      return reply.header('etag', etagOf(s.version)).send(s);
    },
  );
  app.get(
    '/settings/:scope/:section/history',
    {
      config: { auth: 'settings:read' },
      schema: {
        tags,
        summary: 'Change history of one section, newest first (secrets masked)',
        params: sectionParams,
        querystring: historyQuery,
        response: { 200: pageOf(settingsChange) },
      },
    },
    async (request) => settings.history(request.ctx(), { ...request.params, ...request.query }),
  );
};
