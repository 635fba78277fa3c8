import { and, desc, eq, inArray, lt, or, type SQL } from 'drizzle-orm';
import type { Db } from '../../platform/db/client.js';
import { type DownloadStatus, modelDownloads } from '../tables.js';

export type DownloadRow = typeof modelDownloads.$inferSelect;
export type NewDownload = typeof modelDownloads.$inferInsert;

export const ACTIVE: DownloadStatus[] = ['queued', 'downloading', 'verifying'];

export function createDownloadRepository(db: Db) {
  return {
    /** Inserts the job, or answers the active job with the same share key (then `created` is false). */
    async insertOrShare(row: NewDownload): Promise<{ row: DownloadRow; created: boolean }> {
      const [created] = await db.insert(modelDownloads).values(row).onConflictDoNothing().returning();
      if (created) return { row: created, created: true };
      const [existing] = await db
        .select()
        .from(modelDownloads)
        .where(and(eq(modelDownloads.shareKey, row.shareKey), inArray(modelDownloads.status, ACTIVE)));
      // The other job finished between the insert and this read: try once more as a new job.
      if (!existing) return this.insertOrShare(row);
      return { row: existing, created: false };
    },
    async get(id: string): Promise<DownloadRow | undefined> {
      const [r] = await db.select().from(modelDownloads).where(eq(modelDownloads.id, id));
      return r;
    },
    async list(f: {
      owner?: string | undefined;
      status?: DownloadStatus | undefined;
      before?: { at: Date; id: string } | undefined;
      limit: number;
    }): Promise<DownloadRow[]> {
      const where: (SQL | undefined)[] = [];
      if (f.owner) where.push(eq(modelDownloads.createdBy, f.owner));
      if (f.status) where.push(eq(modelDownloads.status, f.status));
      if (f.before) {
        where.push(
          or(
            lt(modelDownloads.createdAt, f.before.at),
            and(eq(modelDownloads.createdAt, f.before.at), lt(modelDownloads.id, f.before.id)),
          ),
        );
      }
      return db
        .select()
        .from(modelDownloads)
        .where(and(...where))
        .orderBy(desc(modelDownloads.createdAt), desc(modelDownloads.id))
        .limit(f.limit + 1);
    },
    async active(): Promise<DownloadRow[]> {
      return db
        .select()
        .from(modelDownloads)
        .where(inArray(modelDownloads.status, ACTIVE))
        .orderBy(modelDownloads.createdAt);
    },
    /**
     * Updates a job only while it is still active, so a cancel that landed first is never
     * overwritten by a late progress report. Answers the row after the update, or undefined.
     */
    async updateActive(id: string, set: Partial<NewDownload>): Promise<DownloadRow | undefined> {
      const [r] = await db
        .update(modelDownloads)
        .set({ ...set, updatedAt: new Date() })
        .where(and(eq(modelDownloads.id, id), inArray(modelDownloads.status, ACTIVE)))
        .returning();
      return r;
    },
  };
}
export type DownloadRepository = ReturnType<typeof createDownloadRepository>;
