import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { pageOf } from '../../platform/http/pagination.js';
import { auditQuery, auditRecord } from './schema.js';
import type { AuditService } from './service.js';

export const auditRoutes: FastifyPluginAsyncZod<{ audit: AuditService }> = async (app, { audit }) => {
  app.get(
    '/audit',
    {
      config: { auth: 'audit:read' },
      schema: {
        tags: ['audit'],
        summary: 'The append-only audit log, newest first (admin)',
        querystring: auditQuery,
        response: { 200: pageOf(auditRecord) },
      },
    },
    async (request) => {
      const q = request.query;
      return audit.list({
        limit: q.limit,
        cursor: q.cursor,
        actorId: q.actor_id,
        action: q.action,
        targetType: q.target_type,
        targetId: q.target_id,
        outcome: q.outcome,
        since: q.since ? new Date(q.since) : undefined,
        until: q.until ? new Date(q.until) : undefined,
      });
    },
  );
};
