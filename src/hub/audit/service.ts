import type { Logger } from 'pino';
import { z } from 'zod';
import type { EventBus } from '../../platform/events/bus.js';
import { decodeCursor, type Page, toPage } from '../../platform/http/pagination.js';
import type { RequestContext } from '../auth/principal.js';
import type { AuditFilter, AuditRepository, AuditRow } from './repository.js';
import type { AuditRecord } from './schema.js';

export interface AuditEntry {
  action: string;
  targetType?: string;
  targetId?: string;
  outcome?: AuditRow['outcome'];
  details?: Record<string, unknown>;
  /** For actions taken before a principal exists (e.g. a failed login). */
  actorName?: string;
}

export const toAuditRecord = (r: AuditRow): AuditRecord => ({
  id: String(r.id),
  at: r.at.toISOString(),
  actor_id: r.actorId,
  actor_name: r.actorName,
  actor_kind: r.actorKind,
  action: r.action,
  target_type: r.targetType,
  target_id: r.targetId,
  outcome: r.outcome,
  request_id: r.requestId,
  ip: r.ip,
  details: r.details,
});

export function createAuditService(deps: { repo: AuditRepository; bus: EventBus; log: Logger }) {
  return {
    /**
     * Appends one record. Audit must not be silently lost: a failed write is logged at error level
     * and re-thrown so the caller's operation fails visibly rather than going unrecorded.
     */
    async record(ctx: RequestContext, entry: AuditEntry): Promise<AuditRecord> {
      const p = ctx.principal;
      try {
        const row = await deps.repo.insert({
          actorId: p?.userId ?? null,
          actorName: p?.username ?? entry.actorName ?? null,
          actorKind: p ? p.via : ctx.requestId === 'system' ? 'system' : 'anonymous',
          action: entry.action,
          targetType: entry.targetType ?? null,
          targetId: entry.targetId ?? null,
          outcome: entry.outcome ?? 'success',
          requestId: ctx.requestId,
          ip: ctx.ip || null,
          details: entry.details ?? null,
        });
        const rec = toAuditRecord(row);
        await deps.bus
          .publish({ topic: 'audit', type: entry.action, data: { ...rec } })
          .catch((err: unknown) => {
            deps.log.warn({ err }, 'audit event not published');
          });
        return rec;
      } catch (err) {
        deps.log.error({ err, action: entry.action }, 'audit write failed');
        throw err;
      }
    },

    async list(
      q: Omit<AuditFilter, 'beforeId'> & { cursor?: string | undefined },
    ): Promise<Page<AuditRecord>> {
      const beforeId = decodeCursor(q.cursor, z.number().int());
      const rows = await deps.repo.list({ ...q, beforeId });
      return toPage(rows, q.limit, toAuditRecord, (r) => r.id);
    },
  };
}
export type AuditService = ReturnType<typeof createAuditService>;
