import { and, desc, eq, lt, type SQL } from 'drizzle-orm';
import type { Db } from '../../platform/db/client.js';
import { settings, settingsHistory, users } from '../tables.js';

export type SettingsRow = typeof settings.$inferSelect;
export type HistoryRow = typeof settingsHistory.$inferSelect & { changedByName: string | null };

export interface WriteInput {
  scope: string;
  section: string;
  /** Values as stored: secrets already sealed. */
  values: Record<string, unknown>;
  /** The version the new values were computed from; 0 when nothing was stored yet. */
  fromVersion: number;
  changedBy: string | null;
  changes: Record<string, { from: unknown; to: unknown }>;
  requestId: string | null;
  at: Date;
}

export function createSettingsRepository(db: Db) {
  return {
    async all(): Promise<SettingsRow[]> {
      return db.select().from(settings);
    },
    async get(scope: string, section: string): Promise<SettingsRow | undefined> {
      const [r] = await db
        .select()
        .from(settings)
        .where(and(eq(settings.scope, scope), eq(settings.section, section)));
      return r;
    },
    /**
     * Writes the section and its history entry together, only if the stored version is still
     * `fromVersion` (compare-and-set; concurrent writers on any node see undefined and must re-read).
     */
    async write(w: WriteInput): Promise<SettingsRow | undefined> {
      return db.transaction(async (tx) => {
        const [row] =
          w.fromVersion === 0
            ? await tx
                .insert(settings)
                .values({
                  scope: w.scope,
                  section: w.section,
                  values: w.values,
                  version: 1,
                  updatedAt: w.at,
                  updatedBy: w.changedBy,
                })
                .onConflictDoNothing()
                .returning()
            : await tx
                .update(settings)
                .set({
                  values: w.values,
                  version: w.fromVersion + 1,
                  updatedAt: w.at,
                  updatedBy: w.changedBy,
                })
                .where(
                  and(
                    eq(settings.scope, w.scope),
                    eq(settings.section, w.section),
                    eq(settings.version, w.fromVersion),
                  ),
                )
                .returning();
        if (!row) return undefined;
        await tx.insert(settingsHistory).values({
          scope: w.scope,
          section: w.section,
          version: row.version,
          changes: w.changes,
          changedBy: w.changedBy,
          changedAt: w.at,
          requestId: w.requestId,
        });
        return row;
      });
    },
    /** Newest first; reads limit+1 rows so the caller knows whether more exist. */
    async history(f: {
      scope?: string | undefined;
      section?: string | undefined;
      beforeId?: number | undefined;
      limit: number;
    }): Promise<HistoryRow[]> {
      const where: SQL[] = [];
      if (f.scope) where.push(eq(settingsHistory.scope, f.scope));
      if (f.section) where.push(eq(settingsHistory.section, f.section));
      if (f.beforeId !== undefined) where.push(lt(settingsHistory.id, f.beforeId));
      const rows = await db
        .select({ h: settingsHistory, changedByName: users.username })
        .from(settingsHistory)
        .leftJoin(users, eq(users.id, settingsHistory.changedBy))
        .where(where.length ? and(...where) : undefined)
        .orderBy(desc(settingsHistory.id))
        .limit(f.limit + 1);
      return rows.map((r) => ({ ...r.h, changedByName: r.changedByName }));
    },
  };
}
export type SettingsRepository = ReturnType<typeof createSettingsRepository>;
