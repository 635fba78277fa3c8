import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { z } from 'zod';
import { materializeVersion } from '../../core/serving/materialize.js';
import type { RequestContext } from '../../hub/auth/principal.js';
import { decodeCursor, type Page, toPage } from '../../platform/http/pagination.js';
import { type DatasetAccess, type DatasetDeps, isAdmin } from './access.js';
import { datasetNotFound } from './errors.js';
import { type ExportFormat, exportRows } from './export.js';
import { readRows } from './formats/index.js';
import { previewValue } from './profile/index.js';
import type { DatasetVersionRow } from './repository.js';
import type {
  DatasetDetail,
  DatasetSummary,
  ListDatasetsQuery,
  PreviewQuery,
  PreviewView,
  UpdateDatasetInput,
  VersionDetail,
} from './schema.js';
import type { DatasetFormat, DatasetKind, SchemaColumn } from './tables.js';
import { toDatasetDetail, toDatasetSummary, toVersionDetail } from './view.js';

/** What a training process needs to read one dataset version. */
export interface DatasetFile {
  /** A local file a child process can open; it stays until the dataset is deleted. */
  path: string;
  format: DatasetFormat;
  kind: DatasetKind;
  schema: SchemaColumn[];
  rows: number;
  datasetId: string;
  version: number;
}

export function createDatasetService(deps: DatasetDeps, access: DatasetAccess) {
  const now = deps.now ?? (() => new Date());

  const detail = async (d: Parameters<typeof toDatasetDetail>[0]): Promise<DatasetDetail> => {
    const versions = await deps.repo.versionsOf(d.id);
    const latest = versions[0] ? await deps.repo.version(d.id, versions[0].version) : undefined;
    return toDatasetDetail(d, versions, latest);
  };

  const rowsOf = async (v: DatasetVersionRow) => readRows(v.format, await deps.store.open(v.sha256));

  /** Deletes each digest's blob once nothing names it; a failure is left to the collector. */
  const releaseBlobs = async (digests: string[]) => {
    let freed = 0;
    for (const sha of digests) {
      try {
        if (await deps.blobs.removeIfUnreferenced(sha, async () => void (await deps.store.delete(sha))))
          freed++;
      } catch (err) {
        deps.log.warn({ err, sha256: sha }, 'could not delete an unreferenced blob; garbage collection will');
      }
    }
    return freed;
  };

  return {
    async list(ctx: RequestContext, q: ListDatasetsQuery): Promise<Page<DatasetSummary>> {
      const afterName = decodeCursor(q.cursor, z.string());
      const rows = await deps.repo.list({
        visibleTo: isAdmin(ctx) ? undefined : ctx.principal!.userId,
        search: q.search,
        afterName,
        limit: q.limit,
      });
      const latest = new Map(
        (await deps.repo.latestOf(rows.slice(0, q.limit).map((d) => d.id))).map((v) => [v.datasetId, v]),
      );
      return toPage(
        rows,
        q.limit,
        (d) => toDatasetSummary(d, latest.get(d.id), latest.get(d.id)?.versions ?? 0),
        (d) => d.name.toLowerCase(),
      );
    },

    async get(ctx: RequestContext, idOrName: string): Promise<DatasetDetail> {
      return detail(await access.readable(ctx, idOrName));
    },

    async version(ctx: RequestContext, idOrName: string, version: number): Promise<VersionDetail> {
      const d = await access.readable(ctx, idOrName);
      return toVersionDetail(await access.version(d, version));
    },

    /** The first rows: from the stored preview when it has enough, else read from the file. */
    async preview(ctx: RequestContext, idOrName: string, q: PreviewQuery): Promise<PreviewView> {
      const d = await access.readable(ctx, idOrName);
      const v = await access.version(d, q.version);
      let rows = v.preview.slice(0, q.limit);
      if (rows.length < q.limit && v.preview.length < v.rows) {
        rows = [];
        for await (const row of await rowsOf(v)) {
          rows.push(Object.fromEntries(row.cells.map(([k, x]) => [k, previewValue(x)])));
          if (rows.length >= q.limit) break;
        }
      }
      return { dataset_id: d.id, version: v.version, columns: v.columns, rows, total_rows: v.rows };
    },

    /** A version's rows as CSV or JSON Lines, streamed from the stored file. */
    async export(ctx: RequestContext, idOrName: string, version: number, format: ExportFormat) {
      const d = await access.readable(ctx, idOrName);
      const v = await access.version(d, version);
      const rows = await rowsOf(v);
      return {
        filename: `${d.name}-v${v.version}.${format}`,
        contentType: format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
        stream: Readable.from(exportRows(rows, v.columns, v.format, format)),
      };
    },

    async update(ctx: RequestContext, idOrName: string, input: UpdateDatasetInput): Promise<DatasetDetail> {
      const d = await access.writable(ctx, idOrName);
      const set = {
        ...(input.description !== undefined ? { description: input.description } : {}),
        ...(input.visibility !== undefined ? { visibility: input.visibility } : {}),
      };
      const updated = await deps.repo.update(d.id, { ...set, updatedAt: now() });
      if (!updated) throw datasetNotFound();
      await deps.audit.record(ctx, {
        action: 'dataset.update',
        targetType: 'dataset',
        targetId: d.id,
        details: { changed: Object.keys(set) },
      });
      // Both audiences hear about a visibility change: those who could see it before and after.
      await access.publish(updated, 'dataset.updated', { changed: Object.keys(set) });
      if (d.visibility !== updated.visibility)
        await access.publish(d, 'dataset.updated', { changed: ['visibility'] });
      return detail(updated);
    },

    async remove(
      ctx: RequestContext,
      idOrName: string,
    ): Promise<{ id: string; deleted: true; blobs_freed: number }> {
      const d = await access.writable(ctx, idOrName);
      const removed = await deps.repo.remove(d.id);
      if (!removed) throw datasetNotFound();
      for (const id of removed.versionIds)
        await rm(join(deps.filesDir, id), { recursive: true, force: true });
      const freed = await releaseBlobs(removed.digests);
      await deps.audit.record(ctx, {
        action: 'dataset.delete',
        targetType: 'dataset',
        targetId: d.id,
        details: { name: d.name, versions: removed.versionIds.length, blobs_freed: freed },
      });
      await access.publish(d, 'dataset.deleted');
      return { id: d.id, deleted: true, blobs_freed: freed };
    },

    /**
     * A version's file as a local path a child process can read, with what it needs to parse it
     * (`readFrame(path, format, schema)`). Same access rules as reading over the API; the latest
     * version when `version` is omitted. Files are hard links to the local store's blobs, or copies.
     */
    async fileFor(ctx: RequestContext, idOrName: string, version?: number): Promise<DatasetFile> {
      const d = await access.readable(ctx, idOrName);
      const v = await access.version(d, version);
      const name = `data.${v.format}`;
      const dir = await materializeVersion(deps.store, deps.filesDir, v.id, [
        { path: name, sha256: v.sha256 },
      ]);
      return {
        path: join(dir, name),
        format: v.format,
        kind: v.kind,
        schema: v.columns,
        rows: v.rows,
        datasetId: d.id,
        version: v.version,
      };
    },
  };
}
export type DatasetService = ReturnType<typeof createDatasetService>;
