import { and, desc, eq, gte, lt, lte, type SQL } from 'drizzle-orm';
import type { Db } from '../../platform/db/client.js';
import { auditLog } from '../tables.js';

export type AuditRow = typeof auditLog.$inferSelect;
export type NewAuditRow = typeof auditLog.$inferInsert;

export interface AuditFilter {
  actorId?: string | undefined;
  action?: string | undefined;
  targetType?: string | undefined;
  targetId?: string | undefined;
  outcome?: AuditRow['outcome'] | undefined;
  since?: Date | undefined;
  until?: Date | undefined;
  beforeId?: number | undefined;
  limit: number;
}

export function createAuditRepository(db: Db) {
  return {
    async insert(row: NewAuditRow): Promise<AuditRow> {
      const [r] = await db.insert(auditLog).values(row).returning();
      return r!;
    },
    /** Newest first; `beforeId` pages backwards. Reads limit+1 rows so the caller knows if more exist. */
    async list(f: AuditFilter): Promise<AuditRow[]> {
      const where: SQL[] = [];
      if (f.actorId) where.push(eq(auditLog.actorId, f.actorId));
      if (f.action) where.push(eq(auditLog.action, f.action));
      if (f.targetType) where.push(eq(auditLog.targetType, f.targetType));
      if (f.targetId) where.push(eq(auditLog.targetId, f.targetId));
      if (f.outcome) where.push(eq(auditLog.outcome, f.outcome));
      if (f.since) where.push(gte(auditLog.at, f.since));
      if (f.until) where.push(lte(auditLog.at, f.until));
      if (f.beforeId !== undefined) where.push(lt(auditLog.id, f.beforeId));
      return db
        .select()
        .from(auditLog)
        .where(where.length ? and(...where) : undefined)
        .orderBy(desc(auditLog.id))
        .limit(f.limit + 1);
    },
  };
}
export type AuditRepository = ReturnType<typeof createAuditRepository>;
