import { and, asc, count, desc, gte, lt, type SQL, sql } from 'drizzle-orm';
import type { Db } from '../../../platform/db/client.js';
import { inferenceRecords } from '../tables.js';

export type InferenceRecordRow = typeof inferenceRecords.$inferSelect;
export type NewInferenceRecord = typeof inferenceRecords.$inferInsert;

export type UsageGroupBy = 'model' | 'user' | 'day';

export interface UsageSummaryRow {
  /** The model id, the user id (null: requests without a user), or the UTC day `YYYY-MM-DD`. */
  key: string | null;
  /** The model's name at its latest request in the range (model grouping only). */
  name: string | null;
  requests: number;
  errors: number;
  cancelled: number;
  rejected: number;
  tokensIn: number;
  tokensOut: number;
  rows: number;
  latencyMsAvg: number;
  latencyMsP95: number;
  /** Over the requests that report one; null when none does. */
  ttftMsAvg: number | null;
}

const r = inferenceRecords;
const num = (q: SQL) => sql<number>`${q}`.mapWith(Number);
const byStatus = (status: string) => num(sql`count(*) filter (where ${r.status} = ${status})`);

export function createUsageRepository(db: Db) {
  return {
    async insertMany(rows: NewInferenceRecord[]): Promise<void> {
      if (rows.length > 0) await db.insert(r).values(rows);
    },

    /** Totals per model, user or UTC day over `[from, to)`; busiest first (days in order). */
    async summary(q: {
      from: Date;
      to: Date;
      groupBy: UsageGroupBy;
      limit?: number;
    }): Promise<UsageSummaryRow[]> {
      const key: SQL<string | null> =
        q.groupBy === 'model'
          ? sql`${r.modelId}`
          : q.groupBy === 'user'
            ? sql`${r.userId}`
            : sql`to_char(${r.at} at time zone 'UTC', 'YYYY-MM-DD')`;
      const rows = await db
        .select({
          key,
          name:
            q.groupBy === 'model'
              ? sql<string | null>`(array_agg(${r.modelName} order by ${r.at} desc))[1]`
              : sql<string | null>`null`,
          requests: count(),
          errors: byStatus('error'),
          cancelled: byStatus('cancelled'),
          rejected: byStatus('rejected'),
          tokensIn: num(sql`coalesce(sum(${r.tokensIn}), 0)`),
          tokensOut: num(sql`coalesce(sum(${r.tokensOut}), 0)`),
          rows: num(sql`coalesce(sum(${r.rows}), 0)`),
          latencyMsAvg: num(sql`avg(${r.latencyMs})`),
          latencyMsP95: num(sql`percentile_cont(0.95) within group (order by ${r.latencyMs})`),
          ttftMsAvg: sql<number | null>`avg(${r.ttftMs})`.mapWith((v) => (v === null ? null : Number(v))),
        })
        .from(r)
        .where(and(gte(r.at, q.from), lt(r.at, q.to)))
        .groupBy(key)
        .orderBy(...(q.groupBy === 'day' ? [asc(key)] : [desc(count()), asc(key)]))
        .limit(q.limit ?? 1000);
      return rows;
    },

    /** Deletes records older than `before`; answers how many. */
    async prune(before: Date): Promise<number> {
      const deleted = await db.delete(r).where(lt(r.at, before)).returning({ id: r.id });
      return deleted.length;
    },
  };
}
export type UsageRepository = ReturnType<typeof createUsageRepository>;
