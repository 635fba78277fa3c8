import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { cleanupBody, cleanupResult, purgeLogsBody, purgeLogsResult, systemStatus } from './schema.js';
import type { AdminService } from './service.js';

export const adminRoutes: FastifyPluginAsyncZod<{ admin: AdminService }> = async (app, { admin }) => {
  const tags = ['admin'];
  app.get(
    '/admin/system-status',
    {
      config: { auth: 'admin:system' },
      schema: {
        tags,
        summary: 'Disk, memory, loaded model and last cleanup (admin)',
        response: { 200: systemStatus },
      },
    },
    async (request) => admin.systemStatus(request.ctx()),
  );
  app.post(
    '/admin/cleanup',
    {
      config: { auth: 'admin:system' },
      schema: {
        tags,
        summary:
          'Free disk space: temp and cache folders, rotated logs, unreferenced model files (admin; 409 cleanup_running, 409 system_busy without force)',
        body: cleanupBody,
        response: { 200: cleanupResult },
      },
    },
    async (request) => admin.cleanup(request.ctx(), request.body),
  );
  app.post(
    '/admin/purge-logs',
    {
      config: { auth: 'admin:system' },
      schema: {
        tags,
        summary:
          'Remove rotated log files older than older_than_days beyond the newest keep_latest_files, or only their log_levels lines (admin)',
        body: purgeLogsBody,
        response: { 200: purgeLogsResult },
      },
    },
    async (request) => admin.purgeLogs(request.ctx(), request.body),
  );
};
