import { and, asc, eq, gt, or, sql } from 'drizzle-orm';
import type { Db } from '../../../platform/db/client.js';
import { modelVersions } from '../../tables.js';
import { type ProviderTestResult, providers } from '../tables.js';

export type ProviderRow = typeof providers.$inferSelect;
export type NewProvider = typeof providers.$inferInsert;

export function createProviderRepository(db: Db) {
  return {
    async insert(row: NewProvider): Promise<ProviderRow> {
      const [r] = await db.insert(providers).values(row).returning();
      return r as ProviderRow;
    },
    /** By id, or by name case-insensitively. */
    async byIdOrName(idOrName: string): Promise<ProviderRow | undefined> {
      const [r] = await db
        .select()
        .from(providers)
        .where(or(eq(providers.id, idOrName), eq(sql`lower(${providers.name})`, idOrName.toLowerCase())))
        // An id wins over another provider's name that happens to spell it.
        .orderBy(sql`${providers.id} = ${idOrName} desc`)
        .limit(1);
      return r;
    },
    /** In name order, after `after` (a lower-cased name). */
    async list(after: string | undefined, limit: number): Promise<ProviderRow[]> {
      return db
        .select()
        .from(providers)
        .where(after === undefined ? undefined : gt(sql`lower(${providers.name})`, after))
        .orderBy(asc(sql`lower(${providers.name})`))
        .limit(limit + 1);
    },
    async update(id: string, set: Partial<NewProvider>): Promise<ProviderRow | undefined> {
      const [r] = await db.update(providers).set(set).where(eq(providers.id, id)).returning();
      return r;
    },
    async setLastTest(id: string, result: ProviderTestResult): Promise<void> {
      await db.update(providers).set({ lastTest: result }).where(eq(providers.id, id));
    },
    async remove(id: string): Promise<boolean> {
      const gone = await db.delete(providers).where(eq(providers.id, id)).returning({ id: providers.id });
      return gone.length > 0;
    },
    /** Ready external versions that name the provider (by id, or by name as hand-made ones may). */
    async versionsUsing(p: { id: string; name: string }): Promise<number> {
      const ref = sql`${modelVersions.external}->>'provider'`;
      const [r] = await db
        .select({ n: sql<number>`count(*)::int` })
        .from(modelVersions)
        .where(
          and(
            eq(modelVersions.format, 'external'),
            eq(modelVersions.status, 'ready'),
            or(eq(ref, p.id), eq(sql`lower(${ref})`, p.name.toLowerCase())),
          ),
        );
      return r?.n ?? 0;
    },
  };
}
export type ProviderRepository = ReturnType<typeof createProviderRepository>;
