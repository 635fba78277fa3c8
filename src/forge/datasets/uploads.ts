import type { Readable } from 'node:stream';
import type { RequestContext } from '../../hub/auth/principal.js';
import { newId } from '../../hub/auth/tokens.js';
import { type DatasetAccess, type DatasetDeps, uploadLimits } from './access.js';
import { datasetNameTaken, datasetNotFound, invalidField, noFile } from './errors.js';
import { type Ingested, ingest } from './ingest.js';
import type { DatasetRow, DatasetVersionRow, NewVersion } from './repository.js';
import { type CreateFields, createFields, datasetName, type UploadResult } from './schema.js';
import { toDatasetDetail, toVersionDetail } from './view.js';

/** One part of a multipart upload, in arrival order; a file's stream must be read before the next. */
export type UploadPart =
  | { kind: 'file'; filename: string; stream: Readable | AsyncIterable<Buffer> }
  | { kind: 'field'; name: string; value: string };

const CREATE_FIELDS = ['name', 'description', 'visibility'] as const;

function parseCreateFields(raw: Record<string, string>): CreateFields {
  const r = createFields.safeParse(raw);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  throw invalidField(String(issue.path[0] ?? 'body'), issue.message);
}

const sourceName = (filename: string) => (filename.split(/[\\/]/).pop() ?? '').slice(0, 255);

/**
 * Uploads: a new dataset with its version 1, or a new version of an existing one. The file is
 * parsed and profiled while it streams into the artifact store; the rows are written only after
 * that succeeds, and a failure after the blob was published removes it again (unless something
 * else names the same bytes), so a refused upload leaves nothing behind.
 */
export function createUploadService(deps: DatasetDeps, access: DatasetAccess) {
  const now = deps.now ?? (() => new Date());

  /** Reads parts until the file is ingested and every field is seen. */
  const readParts = async (
    parts: AsyncIterable<UploadPart>,
    allowed: readonly string[],
    beforeFile: (fields: Record<string, string>) => Promise<void>,
    onIngested: (i: Ingested, filename: string) => Promise<void>,
  ) => {
    const fields: Record<string, string> = {};
    let seenFile = false;
    for await (const part of parts) {
      if (part.kind === 'field') {
        if (!allowed.includes(part.name)) throw invalidField(part.name, 'unknown field');
        fields[part.name] = part.value;
        continue;
      }
      if (seenFile) throw invalidField('file', 'one file per upload');
      seenFile = true;
      await beforeFile(fields);
      await onIngested(await ingest(deps.store, part.stream, uploadLimits(deps.settings)), part.filename);
    }
    if (!seenFile) throw noFile();
    return fields;
  };

  /** Deletes a blob this upload published, unless it is referenced or was stored again since. */
  const release = async (sha256: string, modifiedAt: number | undefined) => {
    await deps.blobs
      .removeIfUnreferenced(sha256, async () => {
        const st = await deps.store.stat(sha256);
        if (st && st.modifiedAt.getTime() === modifiedAt) await deps.store.delete(sha256);
      })
      .catch((err) => deps.log.warn({ err, sha256 }, 'could not remove the blob of a failed dataset upload'));
  };

  /** Runs `save` with the ingested file, and removes a blob it created if saving fails. */
  const withIngested = async <T>(
    read: (keep: (i: Ingested, filename: string) => Promise<void>) => Promise<Record<string, string>>,
    save: (i: Ingested, filename: string, fields: Record<string, string>) => Promise<T>,
  ): Promise<T> => {
    // Filled in by the part reader once the file is stored; a holder, as the callback assigns it.
    const held: { got?: { i: Ingested; filename: string; modifiedAt: number | undefined } } = {};
    try {
      const fields = await read(async (i, filename) => {
        held.got = { i, filename, modifiedAt: undefined };
        // Read back at once, so that a later store of the same bytes by someone else shows.
        if (i.created) held.got.modifiedAt = (await deps.store.stat(i.sha256))?.modifiedAt.getTime();
      });
      const got = held.got!;
      return await save(got.i, got.filename, fields);
    } catch (err) {
      if (held.got?.i.created) await release(held.got.i.sha256, held.got.modifiedAt);
      throw err;
    }
  };

  const versionRow = (ctx: RequestContext, i: Ingested, filename: string): NewVersion => ({
    id: newId(),
    format: i.format,
    kind: i.kind,
    sha256: i.sha256,
    size: i.size,
    rows: i.rows,
    columns: i.columns,
    stats: i.stats as unknown as Record<string, unknown>,
    preview: i.preview,
    sourceFilename: sourceName(filename),
    createdBy: ctx.principal?.userId ?? null,
  });

  const result = async (d: DatasetRow, v: DatasetVersionRow): Promise<UploadResult> => ({
    ...toDatasetDetail(d, await deps.repo.versionsOf(d.id), v),
    version: toVersionDetail(v),
  });

  const recordVersion = async (ctx: RequestContext, d: DatasetRow, v: DatasetVersionRow) => {
    await deps.audit.record(ctx, {
      action: 'dataset.version.create',
      targetType: 'dataset',
      targetId: d.id,
      details: {
        version: v.version,
        format: v.format,
        kind: v.kind,
        size: v.size,
        rows: v.rows,
        sha256: v.sha256,
      },
    });
    await access.publish(d, 'dataset.version.created', {
      version: v.version,
      format: v.format,
      kind: v.kind,
    });
  };

  return {
    /** A new dataset from multipart fields name, description, visibility and one file. */
    async create(ctx: RequestContext, parts: AsyncIterable<UploadPart>): Promise<UploadResult> {
      return withIngested(
        (keep) =>
          readParts(
            parts,
            CREATE_FIELDS,
            async (fields) => {
              // A name sent before the file is checked before any byte is read.
              if (fields.name === undefined) return;
              const name = datasetName.safeParse(fields.name);
              if (!name.success) throw invalidField('name', name.error.issues[0]!.message);
              if (await deps.repo.byName(name.data)) throw datasetNameTaken(name.data);
            },
            keep,
          ),
        async (i, filename, raw) => {
          const fields = parseCreateFields(raw);
          const t = now();
          const saved = await deps.repo.insertWithFirstVersion(
            {
              id: newId(),
              name: fields.name,
              description: fields.description,
              visibility: fields.visibility,
              ownerId: ctx.principal!.userId,
              createdAt: t,
              updatedAt: t,
            },
            versionRow(ctx, i, filename),
            (sha) => deps.store.has(sha),
          );
          if (!saved) throw datasetNameTaken(fields.name);
          const { dataset: d, version: v } = saved;
          await deps.audit.record(ctx, {
            action: 'dataset.create',
            targetType: 'dataset',
            targetId: d.id,
            details: { name: d.name, visibility: d.visibility },
          });
          await access.publish(d, 'dataset.created', { visibility: d.visibility });
          await recordVersion(ctx, d, v);
          return result(d, v);
        },
      );
    },

    /** A new version of a dataset the caller may change, from one file part. */
    async addVersion(
      ctx: RequestContext,
      idOrName: string,
      parts: AsyncIterable<UploadPart>,
    ): Promise<UploadResult> {
      const d = await access.writable(ctx, idOrName);
      return withIngested(
        (keep) => readParts(parts, [], async () => undefined, keep),
        async (i, filename) => {
          const v = await deps.repo.insertVersion(d.id, versionRow(ctx, i, filename), (sha) =>
            deps.store.has(sha),
          );
          if (!v) throw datasetNotFound();
          await recordVersion(ctx, d, v);
          return result((await deps.repo.byIdOrName(d.id)) ?? d, v);
        },
      );
    },
  };
}
