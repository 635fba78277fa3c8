import { and, count, gt, isNull, or } from 'drizzle-orm';
import type { Db } from '../../platform/db/client.js';
import { apiKeys, sessions, users } from '../tables.js';

/** Counts for the Polar gauges: small aggregate queries, run only when /metrics is scraped. */
export function createMetricsRepository(db: Db) {
  return {
    async usersByRole(): Promise<{ role: string; disabled: boolean; n: number }[]> {
      return db
        .select({ role: users.role, disabled: users.disabled, n: count() })
        .from(users)
        .groupBy(users.role, users.disabled);
    },
    async activeSessions(at: Date): Promise<number> {
      const [r] = await db.select({ n: count() }).from(sessions).where(gt(sessions.expiresAt, at));
      return r?.n ?? 0;
    },
    async activeKeys(at: Date): Promise<number> {
      const [r] = await db
        .select({ n: count() })
        .from(apiKeys)
        .where(and(isNull(apiKeys.revokedAt), or(isNull(apiKeys.expiresAt), gt(apiKeys.expiresAt, at))));
      return r?.n ?? 0;
    },
  };
}
export type MetricsRepository = ReturnType<typeof createMetricsRepository>;
