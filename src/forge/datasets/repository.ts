import { and, asc, count, desc, eq, gt, ilike, inArray, or, type SQL, sql } from 'drizzle-orm';
import { type BlobReferences, blobLockKey, type Tx } from '../../core/registry/repository.js';
import type { Db } from '../../platform/db/client.js';
import { datasets, datasetVersions } from './tables.js';

export type DatasetRow = typeof datasets.$inferSelect;
export type DatasetVersionRow = typeof datasetVersions.$inferSelect;
export type NewVersion = Omit<typeof datasetVersions.$inferInsert, 'datasetId' | 'version'>;

/** A version without its preview and statistics, for listings. */
export const versionSummaryColumns = {
  id: datasetVersions.id,
  datasetId: datasetVersions.datasetId,
  version: datasetVersions.version,
  format: datasetVersions.format,
  kind: datasetVersions.kind,
  sha256: datasetVersions.sha256,
  size: datasetVersions.size,
  rows: datasetVersions.rows,
  columns: datasetVersions.columns,
  sourceFilename: datasetVersions.sourceFilename,
  createdBy: datasetVersions.createdBy,
  createdAt: datasetVersions.createdAt,
};
export type VersionSummaryRow = Pick<DatasetVersionRow, keyof typeof versionSummaryColumns>;

const likeEscape = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/**
 * Holds the blob's lock shared until commit and checks it is still stored: a concurrent deletion of
 * the blob's last reference takes the lock exclusively, so it either ran before (and the check fails)
 * or waits until this version is saved (and then sees it).
 */
async function pinBlob(tx: Tx, sha256: string, blobExists: (sha256: string) => Promise<boolean>) {
  await tx.execute(sql`select pg_advisory_xact_lock_shared(${blobLockKey(sha256)}::bigint)`);
  if (!(await blobExists(sha256))) throw new Error(`blob ${sha256} vanished before its version was saved`);
}

export function createDatasetRepository(db: Db) {
  return {
    /**
     * Creates the dataset and its version 1 together: a failed upload leaves no empty dataset.
     * Answers undefined when the name is taken.
     */
    async insertWithFirstVersion(
      row: Omit<typeof datasets.$inferInsert, 'nextVersion'>,
      version: NewVersion,
      blobExists: (sha256: string) => Promise<boolean>,
    ): Promise<{ dataset: DatasetRow; version: DatasetVersionRow } | undefined> {
      return db.transaction(async (tx) => {
        const [d] = await tx
          .insert(datasets)
          .values({ ...row, nextVersion: 2 })
          .onConflictDoNothing()
          .returning();
        if (!d) return undefined;
        await pinBlob(tx, version.sha256, blobExists);
        const [v] = await tx
          .insert(datasetVersions)
          .values({ ...version, datasetId: d.id, version: 1 })
          .returning();
        return { dataset: d, version: v! };
      });
    },

    /**
     * Inserts a version numbered from the dataset row, which stays locked until commit: concurrent
     * uploads take 1, 2, 3… one after another, and a failure rolls its number back (no gaps).
     */
    async insertVersion(
      datasetId: string,
      version: NewVersion,
      blobExists: (sha256: string) => Promise<boolean>,
    ): Promise<DatasetVersionRow | undefined> {
      return db.transaction(async (tx) => {
        const [d] = await tx
          .update(datasets)
          .set({ nextVersion: sql`${datasets.nextVersion} + 1`, updatedAt: new Date() })
          .where(eq(datasets.id, datasetId))
          .returning({ next: datasets.nextVersion });
        if (!d) return undefined;
        await pinBlob(tx, version.sha256, blobExists);
        const [v] = await tx
          .insert(datasetVersions)
          .values({ ...version, datasetId, version: d.next - 1 })
          .returning();
        return v;
      });
    },

    async byName(name: string): Promise<DatasetRow | undefined> {
      const [d] = await db.select().from(datasets).where(sql`lower(${datasets.name}) = lower(${name})`);
      return d;
    },
    /** One query; an id match wins over a dataset whose name looks like that id. */
    async byIdOrName(idOrName: string): Promise<DatasetRow | undefined> {
      const [d] = await db
        .select()
        .from(datasets)
        .where(or(eq(datasets.id, idOrName), sql`lower(${datasets.name}) = lower(${idOrName})`))
        .orderBy(desc(sql`${datasets.id} = ${idOrName}`))
        .limit(1);
      return d;
    },
    async list(f: {
      visibleTo?: string | undefined;
      search?: string | undefined;
      afterName?: string | undefined;
      limit: number;
    }): Promise<DatasetRow[]> {
      const where: (SQL | undefined)[] = [];
      if (f.visibleTo) where.push(or(eq(datasets.visibility, 'shared'), eq(datasets.ownerId, f.visibleTo)));
      if (f.search) {
        const p = `%${likeEscape(f.search)}%`;
        where.push(or(ilike(datasets.name, p), ilike(datasets.description, p)));
      }
      if (f.afterName) where.push(gt(sql`lower(${datasets.name})`, f.afterName));
      return db
        .select()
        .from(datasets)
        .where(and(...where))
        .orderBy(asc(sql`lower(${datasets.name})`))
        .limit(f.limit + 1);
    },
    async update(id: string, set: Partial<typeof datasets.$inferInsert>): Promise<DatasetRow | undefined> {
      const [d] = await db.update(datasets).set(set).where(eq(datasets.id, id)).returning();
      return d;
    },
    /** Deletes the dataset (its versions cascade); answers the digests they used, or undefined. */
    async remove(id: string): Promise<{ digests: string[]; versionIds: string[] } | undefined> {
      return db.transaction(async (tx) => {
        const [d] = await tx.select().from(datasets).where(eq(datasets.id, id)).for('update');
        if (!d) return undefined;
        const versions = await tx
          .select({ id: datasetVersions.id, sha256: datasetVersions.sha256 })
          .from(datasetVersions)
          .where(eq(datasetVersions.datasetId, id));
        await tx.delete(datasets).where(eq(datasets.id, id));
        return {
          digests: [...new Set(versions.map((v) => v.sha256))],
          versionIds: versions.map((v) => v.id),
        };
      });
    },

    async versionsOf(datasetId: string): Promise<VersionSummaryRow[]> {
      return db
        .select(versionSummaryColumns)
        .from(datasetVersions)
        .where(eq(datasetVersions.datasetId, datasetId))
        .orderBy(desc(datasetVersions.version));
    },
    /** Latest version and version count of each dataset, for list pages (one query). */
    async latestOf(datasetIds: string[]): Promise<(VersionSummaryRow & { versions: number })[]> {
      if (datasetIds.length === 0) return [];
      const counts = db
        .select({ datasetId: datasetVersions.datasetId, n: count().as('n') })
        .from(datasetVersions)
        .where(inArray(datasetVersions.datasetId, datasetIds))
        .groupBy(datasetVersions.datasetId)
        .as('c');
      const rows = await db
        .selectDistinctOn([datasetVersions.datasetId], { ...versionSummaryColumns, versions: counts.n })
        .from(datasetVersions)
        .innerJoin(counts, eq(counts.datasetId, datasetVersions.datasetId))
        .where(inArray(datasetVersions.datasetId, datasetIds))
        .orderBy(datasetVersions.datasetId, desc(datasetVersions.version));
      return rows.map((r) => ({ ...r, versions: Number(r.versions) }));
    },
    /** A version by number, or the latest when `version` is undefined. */
    async version(datasetId: string, version?: number): Promise<DatasetVersionRow | undefined> {
      const [v] = await db
        .select()
        .from(datasetVersions)
        .where(
          and(
            eq(datasetVersions.datasetId, datasetId),
            version === undefined ? undefined : eq(datasetVersions.version, version),
          ),
        )
        .orderBy(desc(datasetVersions.version))
        .limit(1);
      return v;
    },

    /** Dataset versions as holders of artifact-store blobs, for the registry's deletions and collector. */
    blobReferences: {
      async count(tx: Tx, sha256: string) {
        const [r] = await tx
          .select({ n: count() })
          .from(datasetVersions)
          .where(eq(datasetVersions.sha256, sha256));
        return r?.n ?? 0;
      },
      async digests() {
        const rows = await db.selectDistinct({ sha256: datasetVersions.sha256 }).from(datasetVersions);
        return rows.map((r) => r.sha256);
      },
    } satisfies BlobReferences,
  };
}
export type DatasetRepository = ReturnType<typeof createDatasetRepository>;
