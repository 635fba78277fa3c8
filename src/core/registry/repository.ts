import {
  and,
  asc,
  count,
  desc,
  eq,
  getTableColumns,
  gt,
  ilike,
  inArray,
  or,
  type SQL,
  sql,
} from 'drizzle-orm';
import type { Db } from '../../platform/db/client.js';
import { aliasHistory, modelAliases, modelFiles, models, modelVersions } from '../tables.js';

export type ModelRow = typeof models.$inferSelect;
export type VersionRow = typeof modelVersions.$inferSelect;
export type FileRow = typeof modelFiles.$inferSelect;
export type AliasRow = typeof modelAliases.$inferSelect;
export type AliasHistoryRow = typeof aliasHistory.$inferSelect;
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

/**
 * Another table whose rows name blobs of the same artifact store (Forge's dataset versions): a blob
 * is unreferenced only when no model file and no such row names it.
 */
export interface BlobReferences {
  /** Rows naming the blob, read inside the transaction that holds the blob's lock. */
  count(tx: Tx, sha256: string): Promise<number>;
  digests(): Promise<Iterable<string>>;
}

export interface ListFilter {
  /** Unset for admins: every model. */
  visibleTo?: string | undefined;
  search?: string | undefined;
  task?: string | undefined;
  tag?: string | undefined;
  afterName?: string | undefined;
  limit: number;
}

/** Blob digests become advisory lock keys: the first 60 bits fit a signed bigint. */
export const blobLockKey = (sha256: string) => BigInt(`0x${sha256.slice(0, 15)}`).toString();
const likeEscape = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

export function createRegistryRepository(db: Db) {
  const otherReferences: BlobReferences[] = [];
  const lockModel = async (tx: Tx, modelId: string) => {
    const [m] = await tx.select().from(models).where(eq(models.id, modelId)).for('update');
    return m;
  };

  return {
    async insertModel(row: typeof models.$inferInsert): Promise<ModelRow | undefined> {
      const [r] = await db.insert(models).values(row).onConflictDoNothing().returning();
      return r;
    },
    /** One query; a name may look like another model's id, and the id match wins, as it always has. */
    async modelByIdOrName(idOrName: string): Promise<ModelRow | undefined> {
      const [m] = await db
        .select()
        .from(models)
        .where(or(eq(models.id, idOrName), sql`lower(${models.name}) = lower(${idOrName})`))
        .orderBy(desc(sql`${models.id} = ${idOrName}`))
        .limit(1);
      return m;
    },
    async updateModel(id: string, set: Partial<typeof models.$inferInsert>): Promise<ModelRow | undefined> {
      const [r] = await db.update(models).set(set).where(eq(models.id, id)).returning();
      return r;
    },
    async listModels(f: ListFilter): Promise<ModelRow[]> {
      const where: (SQL | undefined)[] = [];
      if (f.visibleTo) where.push(or(eq(models.visibility, 'internal'), eq(models.ownerId, f.visibleTo)));
      if (f.search) {
        const p = `%${likeEscape(f.search)}%`;
        where.push(or(ilike(models.name, p), ilike(models.description, p)));
      }
      if (f.task) where.push(eq(models.task, f.task as ModelRow['task']));
      if (f.tag) where.push(sql`${models.tags} @> ${JSON.stringify([f.tag])}::jsonb`);
      if (f.afterName) where.push(gt(sql`lower(${models.name})`, f.afterName));
      return db
        .select()
        .from(models)
        .where(and(...where))
        .orderBy(asc(sql`lower(${models.name})`))
        .limit(f.limit + 1);
    },
    /**
     * The latest version of each given model with the model's version count, in one query: the
     * window count is computed before DISTINCT ON keeps each model's highest version.
     */
    async versionSummaries(modelIds: string[]): Promise<(VersionRow & { count: number })[]> {
      if (modelIds.length === 0) return [];
      return db
        .selectDistinctOn([modelVersions.modelId], {
          ...getTableColumns(modelVersions),
          count: sql<number>`count(*) over (partition by ${modelVersions.modelId})`.mapWith(Number),
        })
        .from(modelVersions)
        .where(inArray(modelVersions.modelId, modelIds))
        .orderBy(modelVersions.modelId, desc(modelVersions.version));
    },
    /** A model's versions in order, each with its files ordered by path, in one query. */
    async versionsWithFiles(modelId: string): Promise<{ versions: VersionRow[]; files: FileRow[] }> {
      const rows = await db
        .select({ version: modelVersions, file: modelFiles })
        .from(modelVersions)
        .leftJoin(modelFiles, eq(modelFiles.versionId, modelVersions.id))
        .where(eq(modelVersions.modelId, modelId))
        .orderBy(asc(modelVersions.version), asc(modelFiles.path));
      const versions: VersionRow[] = [];
      const files: FileRow[] = [];
      for (const r of rows) {
        if (versions.at(-1)?.id !== r.version.id) versions.push(r.version);
        if (r.file) files.push(r.file);
      }
      return { versions, files };
    },
    async versionsOf(modelId: string, numbers?: number[]): Promise<VersionRow[]> {
      const where = numbers
        ? and(eq(modelVersions.modelId, modelId), inArray(modelVersions.version, numbers))
        : eq(modelVersions.modelId, modelId);
      return db.select().from(modelVersions).where(where).orderBy(asc(modelVersions.version));
    },
    async version(modelId: string, version: number): Promise<VersionRow | undefined> {
      const [r] = await db
        .select()
        .from(modelVersions)
        .where(and(eq(modelVersions.modelId, modelId), eq(modelVersions.version, version)));
      return r;
    },
    async filesOf(versionIds: string[]): Promise<FileRow[]> {
      if (versionIds.length === 0) return [];
      return db
        .select()
        .from(modelFiles)
        .where(inArray(modelFiles.versionId, versionIds))
        .orderBy(asc(modelFiles.path));
    },
    async file(versionId: string, path: string): Promise<FileRow | undefined> {
      const [r] = await db
        .select()
        .from(modelFiles)
        .where(and(eq(modelFiles.versionId, versionId), eq(modelFiles.path, path)));
      return r;
    },
    async aliasesOf(modelIds: string[]): Promise<AliasRow[]> {
      if (modelIds.length === 0) return [];
      return db
        .select()
        .from(modelAliases)
        .where(inArray(modelAliases.modelId, modelIds))
        .orderBy(asc(modelAliases.alias));
    },

    /**
     * Inserts a version and its files in one transaction, numbering it from the model row, which
     * stays locked until commit: concurrent inserts on one model take numbers one after another, and
     * a failure rolls the number back. Each blob is share-locked and checked with `blobExists`, so a
     * concurrent deletion of the last reference to the same blob cannot remove it underneath.
     */
    async insertVersion(
      modelId: string,
      row: Omit<typeof modelVersions.$inferInsert, 'modelId' | 'version'>,
      files: { path: string; size: number; sha256: string }[],
      blobExists: (sha256: string) => Promise<boolean>,
    ): Promise<VersionRow | undefined> {
      return db.transaction(async (tx) => {
        const [m] = await tx
          .update(models)
          .set({ nextVersion: sql`${models.nextVersion} + 1`, updatedAt: new Date() })
          .where(eq(models.id, modelId))
          .returning({ next: models.nextVersion });
        if (!m) return undefined;
        for (const sha of [...new Set(files.map((f) => f.sha256))].sort()) {
          await tx.execute(sql`select pg_advisory_xact_lock_shared(${blobLockKey(sha)}::bigint)`);
          if (!(await blobExists(sha))) throw new Error(`blob ${sha} vanished before its version was saved`);
        }
        const [v] = await tx
          .insert(modelVersions)
          .values({ ...row, modelId, version: m.next - 1 })
          .returning();
        if (files.length > 0)
          await tx.insert(modelFiles).values(files.map((f) => ({ ...f, versionId: v!.id })));
        return v;
      });
    },
    async setVersionStatus(versionId: string, status: VersionRow['status'], at: Date | null) {
      const [r] = await db
        .update(modelVersions)
        .set({ status, retiredAt: at })
        .where(eq(modelVersions.id, versionId))
        .returning();
      return r;
    },

    /** Deletes the model (versions, files, aliases cascade); answers the digests its files used. */
    async deleteModel(modelId: string): Promise<string[] | undefined> {
      return db.transaction(async (tx) => {
        if (!(await lockModel(tx, modelId))) return undefined;
        const shas = await tx
          .selectDistinct({ sha256: modelFiles.sha256 })
          .from(modelFiles)
          .innerJoin(modelVersions, eq(modelVersions.id, modelFiles.versionId))
          .where(eq(modelVersions.modelId, modelId));
        await tx.delete(models).where(eq(models.id, modelId));
        return shas.map((s) => s.sha256);
      });
    },
    /**
     * Runs `remove` for the blob only while no file references it, holding the blob's advisory lock
     * so that no version referencing it can be saved in between. Answers whether it ran.
     */
    async removeIfUnreferenced(sha256: string, remove: () => Promise<void>): Promise<boolean> {
      return db.transaction(async (tx) => {
        await tx.execute(sql`select pg_advisory_xact_lock(${blobLockKey(sha256)}::bigint)`);
        const [r] = await tx.select({ n: count() }).from(modelFiles).where(eq(modelFiles.sha256, sha256));
        if ((r?.n ?? 0) > 0) return false;
        for (const o of otherReferences) if ((await o.count(tx, sha256)) > 0) return false;
        await remove();
        return true;
      });
    },
    async referencedDigests(): Promise<Set<string>> {
      const rows = await db.selectDistinct({ sha256: modelFiles.sha256 }).from(modelFiles);
      const all = new Set(rows.map((r) => r.sha256));
      for (const o of otherReferences) for (const sha of await o.digests()) all.add(sha);
      return all;
    },
    /** Blobs named elsewhere are kept by deletions and garbage collection as model files are. */
    addBlobReferences(refs: BlobReferences) {
      otherReferences.push(refs);
    },

    /**
     * Changes an alias under the model's row lock. `decide` sees the current target and answers the
     * new one (null removes the alias) or throws; the change and its history entry commit together.
     */
    async changeAlias(
      modelId: string,
      alias: string,
      decide: (
        current: AliasRow | undefined,
        last: AliasHistoryRow | undefined,
        tx: Tx,
      ) => Promise<{ to: number | null; reason: string }>,
      actor: { id: string | null; name: string | null },
    ): Promise<{ from: number | null; to: number | null; entry: AliasHistoryRow } | undefined> {
      return db.transaction(async (tx) => {
        if (!(await lockModel(tx, modelId))) return undefined;
        const where = and(eq(modelAliases.modelId, modelId), eq(modelAliases.alias, alias));
        const [current] = await tx.select().from(modelAliases).where(where);
        const [last] = await tx
          .select()
          .from(aliasHistory)
          .where(and(eq(aliasHistory.modelId, modelId), eq(aliasHistory.alias, alias)))
          .orderBy(desc(aliasHistory.id))
          .limit(1);
        const { to, reason } = await decide(current, last, tx);
        const at = new Date();
        if (to === null) await tx.delete(modelAliases).where(where);
        else if (current)
          await tx.update(modelAliases).set({ version: to, updatedAt: at, updatedBy: actor.id }).where(where);
        else
          await tx
            .insert(modelAliases)
            .values({ modelId, alias, version: to, updatedAt: at, updatedBy: actor.id });
        const [entry] = await tx
          .insert(aliasHistory)
          .values({
            modelId,
            alias,
            fromVersion: current?.version ?? null,
            toVersion: to,
            reason,
            actorId: actor.id,
            actorName: actor.name,
            at,
          })
          .returning();
        return { from: current?.version ?? null, to, entry: entry! };
      });
    },
    /** A version as seen inside an alias change's transaction. */
    async versionIn(tx: Tx, modelId: string, version: number): Promise<VersionRow | undefined> {
      const [r] = await tx
        .select()
        .from(modelVersions)
        .where(and(eq(modelVersions.modelId, modelId), eq(modelVersions.version, version)));
      return r;
    },
    async aliasHistory(modelId: string, alias: string, beforeId: number | undefined, limit: number) {
      const where = [eq(aliasHistory.modelId, modelId), eq(aliasHistory.alias, alias)];
      if (beforeId !== undefined) where.push(sql`${aliasHistory.id} < ${beforeId}`);
      return db
        .select()
        .from(aliasHistory)
        .where(and(...where))
        .orderBy(desc(aliasHistory.id))
        .limit(limit + 1);
    },
  };
}
export type RegistryRepository = ReturnType<typeof createRegistryRepository>;
