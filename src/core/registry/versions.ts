import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { z } from 'zod';
import type { RequestContext } from '../../hub/auth/principal.js';
import { newId } from '../../hub/auth/tokens.js';
import { AppError } from '../../platform/errors.js';
import { safeRelativePath } from '../artifacts/paths.js';
import { type ByteRange, resolveRange } from '../artifacts/store.js';
import { inspectModel } from '../formats/detect.js';
import {
  duplicateFile,
  fileNotFound,
  invalidField,
  modelNotFound,
  noFiles,
  pickleRefused,
  uploadTooLarge,
} from './errors.js';
import { blobSource, detectFileFormat, type FileFormat, SNIFF_BYTES, versionFormat } from './format.js';
import type { ModelRow, VersionRow } from './repository.js';
import { externalVersionBody, lineage, metrics, type VersionView } from './schema.js';
import type { ModelAccess, RegistryDeps } from './service.js';
import { toVersionView } from './view.js';

/** A blob an upload created, with its modification time right after it was stored. */
interface CreatedBlob {
  sha256: string;
  modifiedAt: number | undefined;
}

/** One part of an upload, in arrival order; a file's stream must be consumed before the next part. */
export type UploadPart =
  | { kind: 'file'; filename: string; stream: Readable }
  | { kind: 'field'; name: string; value: string };

export interface VersionDeps extends RegistryDeps {
  /** Largest total size of one version's files. */
  maxUploadBytes: number;
  /** The admin setting registry/storage.allow_pickle_storage, read per upload. */
  allowPickleStorage: () => boolean;
}

const FIELDS = ['source', 'lineage', 'metrics', 'allow_pickle'] as const;
const MAX_FILES = 1000;

/** Yields the first `n` bytes as `head`, then replays them ahead of the rest of the stream. */
async function peek(stream: AsyncIterable<Buffer>, n: number) {
  const it = stream[Symbol.asyncIterator]();
  const chunks: Buffer[] = [];
  let got = 0;
  let done = false;
  while (got < n) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    chunks.push(r.value);
    got += r.value.length;
  }
  async function* rest() {
    yield* chunks;
    if (!done) for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
  }
  return { head: Buffer.concat(chunks).subarray(0, n), rest: rest() };
}

function parseJsonField<T extends z.ZodType>(name: string, raw: string, shape: T): z.infer<T> {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw invalidField(name, 'is not valid JSON');
  }
  const r = shape.safeParse(value);
  if (!r.success)
    throw invalidField(
      name,
      r.error.issues.map((i) => `${i.path.join('.') || 'value'}: ${i.message}`).join('; '),
    );
  return r.data;
}

/** A suffix range counts from the end; an end past the file means "to the end" (RFC 9110). */
function clampRange(size: number, r: { start?: number; end?: number; suffix?: number }): ByteRange {
  if (r.suffix !== undefined)
    return r.suffix === 0 ? { start: size, end: size } : { start: Math.max(0, size - r.suffix) };
  return { start: r.start ?? 0, ...(r.end !== undefined ? { end: Math.min(r.end, size - 1) } : {}) };
}

/** sha256 of a whole version: the file's own for one file, else of the sorted `sha256  path` lines. */
function versionDigest(files: { path: string; sha256: string }[]): string | null {
  if (files.length === 0) return null;
  if (files.length === 1) return files[0]!.sha256;
  const manifest = [...files]
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .map((f) => `${f.sha256}  ${f.path}\n`)
    .join('');
  return createHash('sha256').update(manifest).digest('hex');
}

/** The first bytes of a stored blob, for format detection. */
async function readHead(store: VersionDeps['store'], sha256: string, size: number): Promise<Buffer> {
  if (size === 0) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  for await (const c of await store.open(sha256, { start: 0, end: Math.min(size, SNIFF_BYTES) - 1 }))
    chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export function createVersionService(deps: VersionDeps, access: ModelAccess) {
  const insert = async (
    ctx: RequestContext,
    m: ModelRow,
    row: Omit<VersionRow, 'id' | 'modelId' | 'version' | 'createdAt' | 'retiredAt' | 'status' | 'createdBy'>,
    files: { path: string; size: number; sha256: string }[],
  ): Promise<VersionView> => {
    const v = await deps.repo.insertVersion(
      m.id,
      { ...row, id: newId(), createdBy: ctx.principal?.userId ?? null },
      files,
      (sha) => deps.store.has(sha),
    );
    if (!v) throw modelNotFound();
    await deps.audit.record(ctx, {
      action: 'model.version.create',
      targetType: 'model',
      targetId: m.id,
      details: { version: v.version, format: v.format, size: v.size, sha256: v.sha256, files: files.length },
    });
    await access.publish(m, 'model.version.created', { version: v.version, format: v.format });
    const stored = await deps.repo.filesOf([v.id]);
    return toVersionView(v, stored);
  };

  /**
   * Checks a stored weights file's header (422 invalid_model_file when it does not hold together)
   * and removes the blob of a refused file: the verdict depends on the bytes alone, so no other
   * version can be referencing the same blob.
   */
  const validateStored = async (stored: { sha256: string; size: number }, path: string) => {
    try {
      await inspectModel(blobSource(deps.store, stored.sha256, stored.size));
    } catch (err) {
      await deps.repo
        .removeIfUnreferenced(stored.sha256, async () => void (await deps.store.delete(stored.sha256)))
        .catch((e) => deps.log.warn({ err: e, sha256: stored.sha256 }, 'could not remove a refused blob'));
      if (err instanceof AppError) throw new AppError(err.status, err.code, `${path}: ${err.message}`);
      throw err;
    }
  };

  /** When a blob this upload created was stored, read back at once so a later touch shows. */
  const createdBlob = async (sha256: string): Promise<CreatedBlob> => ({
    sha256,
    modifiedAt: (await deps.store.stat(sha256))?.modifiedAt.getTime(),
  });

  /**
   * Deletes the blobs a failed upload created. Each goes only while no version references it (the
   * check and the delete hold the blob's lock, as registering a version does) and while its time
   * is still the one it was stored with: another upload or an import that stored the same bytes
   * meanwhile refreshed it and may be about to reference it. A failure is left to the collector.
   */
  const releaseCreated = async (blobs: CreatedBlob[]) => {
    for (const blob of blobs) {
      await deps.repo
        .removeIfUnreferenced(blob.sha256, async () => {
          const now = await deps.store.stat(blob.sha256);
          if (now && now.modifiedAt.getTime() === blob.modifiedAt) await deps.store.delete(blob.sha256);
        })
        .catch((err) =>
          deps.log.warn({ err, sha256: blob.sha256 }, 'could not remove a blob of a failed upload'),
        );
    }
  };

  return {
    /**
     * A version from uploaded files: every file is stored and hashed before the version exists. An
     * upload that fails part-way deletes at once the blobs it created, unless something references
     * them or touched them since (see releaseCreated), instead of leaving them to the collector.
     */
    async upload(
      ctx: RequestContext,
      idOrName: string,
      parts: AsyncIterable<UploadPart>,
    ): Promise<VersionView> {
      const m = await access.writable(ctx, idOrName);
      const fields: Partial<Record<(typeof FIELDS)[number], string>> = {};
      const files: { path: string; size: number; sha256: string; format: FileFormat }[] = [];
      const created: CreatedBlob[] = [];
      let used = 0;
      try {
        for await (const part of parts) {
          if (part.kind === 'field') {
            if (!(FIELDS as readonly string[]).includes(part.name))
              throw invalidField(part.name, 'unknown field');
            fields[part.name as (typeof FIELDS)[number]] = part.value;
            continue;
          }
          // Names are checked before a byte is read; the content decides the format, not the name.
          const path = safeRelativePath(part.filename);
          if (files.some((f) => f.path === path)) throw duplicateFile(path);
          if (files.length >= MAX_FILES) throw invalidField('file', `at most ${MAX_FILES} files per version`);
          const { head, rest } = await peek(part.stream, SNIFF_BYTES);
          const format = detectFileFormat(head, path);
          if (format === 'pickle' && !(fields.allow_pickle === 'true' && deps.allowPickleStorage())) {
            throw pickleRefused(path);
          }
          const remaining = deps.maxUploadBytes - used;
          let stored: { sha256: string; size: number; created: boolean };
          try {
            stored = await deps.store.put(rest, { maxBytes: remaining });
          } catch (err) {
            if (err instanceof AppError && err.code === 'artifact_too_large')
              throw uploadTooLarge(deps.maxUploadBytes);
            throw err;
          }
          if (stored.created) created.push(await createdBlob(stored.sha256));
          used += stored.size;
          if (format === 'gguf' || format === 'safetensors' || format === 'onnx') {
            await validateStored(stored, path);
          }
          files.push({ path, format, sha256: stored.sha256, size: stored.size });
        }
        if (files.length === 0) throw noFiles();
        const lin = fields.lineage ? parseJsonField('lineage', fields.lineage, lineage) : {};
        const met = fields.metrics ? parseJsonField('metrics', fields.metrics, metrics) : {};
        const source = fields.source?.trim() || 'upload';
        if (source.length > 200) throw invalidField('source', 'at most 200 characters');
        return await insert(
          ctx,
          m,
          {
            format: versionFormat(files),
            size: used,
            sha256: versionDigest(files),
            source,
            lineage: lin,
            metrics: met,
            external: null,
          },
          files.map(({ path, size, sha256 }) => ({ path, size, sha256 })),
        );
      } catch (err) {
        await releaseCreated(created);
        throw err;
      }
    },

    /**
     * A version from blobs already in the store (an import job put them there). `lineage.job_id`
     * keys it: a job that runs again after registering gets the version it made, not a second one.
     */
    async registerStored(
      ctx: RequestContext,
      idOrName: string,
      input: {
        files: { path: string; size: number; sha256: string }[];
        source: string;
        lineage: { job_id: string; dataset_version?: string; parent_version?: number; trial_job_id?: string };
        metrics?: Record<string, unknown>;
        /** Set by a caller that made the files itself and knows their format (Forge: polar-tabular). */
        format?: 'polar-tabular';
      },
    ): Promise<{ modelId: string; version: VersionView }> {
      const m = await access.writable(ctx, idOrName);
      const existing = (await deps.repo.versionsOf(m.id)).find(
        (v) => v.lineage.job_id === input.lineage.job_id,
      );
      if (existing)
        return { modelId: m.id, version: toVersionView(existing, await deps.repo.filesOf([existing.id])) };
      const typed: { path: string; size: number; sha256: string; format: FileFormat }[] = [];
      for (const f of input.files) {
        const path = safeRelativePath(f.path);
        const head = await readHead(deps.store, f.sha256, f.size);
        const format = detectFileFormat(head, path);
        if (format === 'pickle' && !deps.allowPickleStorage()) throw pickleRefused(path);
        if (format === 'gguf' || format === 'safetensors' || format === 'onnx') await validateStored(f, path);
        typed.push({ ...f, path, format });
      }
      if (typed.length === 0) throw noFiles();
      const version = await insert(
        ctx,
        m,
        {
          format: input.format ?? versionFormat(typed),
          size: typed.reduce((n, f) => n + f.size, 0),
          sha256: versionDigest(typed),
          source: input.source,
          lineage: input.lineage,
          metrics: input.metrics ?? {},
          external: null,
        },
        typed.map(({ path, size, sha256 }) => ({ path, size, sha256 })),
      );
      return { modelId: m.id, version };
    },

    /** A version that points at a model served by an external provider; it has no files. */
    async createExternal(ctx: RequestContext, idOrName: string, body: unknown): Promise<VersionView> {
      const m = await access.writable(ctx, idOrName);
      const r = externalVersionBody.safeParse(body ?? {});
      if (!r.success) {
        throw new AppError(
          400,
          'validation_error',
          'Give multipart file parts or a JSON body { external: { provider, model } }',
          {
            errors: r.error.issues.map((i) => ({ path: `body.${i.path.join('.')}`, message: i.message })),
          },
        );
      }
      return insert(
        ctx,
        m,
        {
          format: 'external',
          size: 0,
          sha256: null,
          source: r.data.source ?? 'external',
          lineage: r.data.lineage ?? {},
          metrics: r.data.metrics ?? {},
          external: r.data.external,
        },
        [],
      );
    },

    async get(ctx: RequestContext, idOrName: string, version: number): Promise<VersionView> {
      const m = await access.readable(ctx, idOrName);
      const v = await access.version(m, version);
      return toVersionView(v, await deps.repo.filesOf([v.id]));
    },

    /** Retired versions stay downloadable but cannot be aliased. Retiring twice changes nothing. */
    async retire(ctx: RequestContext, idOrName: string, version: number): Promise<VersionView> {
      const m = await access.writable(ctx, idOrName);
      const v = await access.version(m, version);
      const after =
        v.status === 'retired' ? v : ((await deps.repo.setVersionStatus(v.id, 'retired', new Date())) ?? v);
      if (v.status !== 'retired') {
        await deps.audit.record(ctx, {
          action: 'model.version.retire',
          targetType: 'model',
          targetId: m.id,
          details: { version },
        });
        await access.publish(m, 'model.version.retired', { version });
      }
      return toVersionView(after, await deps.repo.filesOf([v.id]));
    },

    /** Opens one file of a version, whole or a byte range of it. */
    async openFile(
      ctx: RequestContext,
      idOrName: string,
      version: number,
      rawPath: string,
      range?: { start?: number; end?: number; suffix?: number },
    ) {
      const m = await access.readable(ctx, idOrName);
      const v = await access.version(m, version);
      const path = safeRelativePath(rawPath);
      const f = await deps.repo.file(v.id, path);
      if (!f) throw fileNotFound();
      const span = range ? resolveRange(f.size, clampRange(f.size, range)) : null;
      const stream = await deps.store.open(f.sha256, span ?? undefined);
      return { path: f.path, size: f.size, sha256: f.sha256, range: span, stream };
    },
  };
}
export type VersionService = ReturnType<typeof createVersionService>;
