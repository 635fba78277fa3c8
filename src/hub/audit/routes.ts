import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { pageOf } from '../../platform/http/pagination.js';
import type { AuditService } from './service.js';

const auditRecord = z
  .object({
    id: z.string(),
    at: z.string(),
    actor_id: z.string().nullable(),
    actor_name: z.string().nullable(),
    actor_kind: z.string(),
    action: z.string(),
    target_type: z.string().nullable(),
    target_id: z.string().nullable(),
    outcome: z.enum(['success', 'failure', 'denied']),
    request_id: z.string().nullable(),
    ip: z.string().nullable(),
    details: z.record(z.string(), z.unknown()).nullable(),
  })
  .meta({ id: 'AuditRecord' });

const auditQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(200).optional(),
  actor_id: z.string().max(64).optional(),
  action: z.string().max(100).optional(),
  target_type: z.string().max(64).optional(),
  target_id: z.string().max(200).optional(),
  outcome: z.enum(['success', 'failure', 'denied']).optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
});

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
