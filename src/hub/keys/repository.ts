import { and, asc, count, eq, gt, isNull, lt, ne, type SQL } from 'drizzle-orm';
import type { Db } from '../../platform/db/client.js';
import { apiKeys, sessions } from '../tables.js';

export type ApiKeyRow = typeof apiKeys.$inferSelect;
export type SessionRow = typeof sessions.$inferSelect;

export function createKeyRepository(db: Db) {
  return {
    async insert(row: typeof apiKeys.$inferInsert): Promise<ApiKeyRow> {
      const [r] = await db.insert(apiKeys).values(row).returning();
      return r!;
    },
    async byId(id: string): Promise<ApiKeyRow | undefined> {
      const [r] = await db.select().from(apiKeys).where(eq(apiKeys.id, id));
      return r;
    },
    async list(f: {
      userId?: string | undefined;
      includeRevoked: boolean;
      afterId?: string | undefined;
      limit: number;
    }) {
      const where: SQL[] = [];
      if (f.userId) where.push(eq(apiKeys.userId, f.userId));
      if (!f.includeRevoked) where.push(isNull(apiKeys.revokedAt));
      if (f.afterId) where.push(gt(apiKeys.id, f.afterId));
      return db
        .select()
        .from(apiKeys)
        .where(where.length ? and(...where) : undefined)
        .orderBy(asc(apiKeys.id))
        .limit(f.limit + 1);
    },
    async countActive(userId: string): Promise<number> {
      const [r] = await db
        .select({ n: count() })
        .from(apiKeys)
        .where(and(eq(apiKeys.userId, userId), isNull(apiKeys.revokedAt)));
      return r?.n ?? 0;
    },
    async revoke(id: string, at = new Date()): Promise<ApiKeyRow | undefined> {
      const [r] = await db
        .update(apiKeys)
        .set({ revokedAt: at })
        .where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt)))
        .returning();
      return r;
    },
    async revokeAllOf(userId: string): Promise<string[]> {
      const r = await db
        .update(apiKeys)
        .set({ revokedAt: new Date() })
        .where(and(eq(apiKeys.userId, userId), isNull(apiKeys.revokedAt)))
        .returning({ id: apiKeys.id });
      return r.map((x) => x.id);
    },
    async touch(id: string, at: Date): Promise<void> {
      await db.update(apiKeys).set({ lastUsedAt: at }).where(eq(apiKeys.id, id));
    },
  };
}
export type KeyRepository = ReturnType<typeof createKeyRepository>;

export function createSessionRepository(db: Db) {
  return {
    async insert(row: typeof sessions.$inferInsert): Promise<SessionRow> {
      const [r] = await db.insert(sessions).values(row).returning();
      return r!;
    },
    async byId(id: string): Promise<SessionRow | undefined> {
      const [r] = await db.select().from(sessions).where(eq(sessions.id, id));
      return r;
    },
    async delete(id: string): Promise<void> {
      await db.delete(sessions).where(eq(sessions.id, id));
    },
    /** Removes the user's sessions except `keep`; returns the removed ids. */
    async deleteAllOf(userId: string, except?: string): Promise<string[]> {
      const where = except
        ? and(eq(sessions.userId, userId), ne(sessions.id, except))
        : eq(sessions.userId, userId);
      const all = await db.delete(sessions).where(where).returning({ id: sessions.id });
      return all.map((x) => x.id);
    },
    async deleteExpired(now = new Date()): Promise<number> {
      const r = await db.delete(sessions).where(lt(sessions.expiresAt, now)).returning({ id: sessions.id });
      return r.length;
    },
    async touch(id: string, at: Date): Promise<void> {
      await db.update(sessions).set({ lastSeenAt: at }).where(eq(sessions.id, id));
    },
  };
}
export type SessionRepository = ReturnType<typeof createSessionRepository>;
