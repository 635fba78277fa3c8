import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import type { ArtifactStore } from '../../core/artifacts/store.js';
import { AppError } from '../../platform/errors.js';
import { datasetEmpty, datasetTooLarge } from './errors.js';
import { detectFormat, parseRows, peek, SNIFF_BYTES } from './formats/index.js';
import { DatasetProfiler, type Profile } from './profile/index.js';
import type { DatasetFormat } from './tables.js';

export interface IngestLimits {
  maxBytes: number;
  maxRows: number;
  maxColumns: number;
}

export interface Ingested extends Profile {
  format: DatasetFormat;
  sha256: string;
  size: number;
  /** Whether this upload published the blob (rather than finding the same bytes stored). */
  created: boolean;
}

const tooLarge = (limit: number) =>
  datasetTooLarge(
    `The file is larger than the upload limit of ${limit} bytes (forge/datasets max_upload_mb)`,
  );

/** Errors of the layers below, in the dataset's words. */
function translate(err: unknown, maxBytes: number): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'artifact_too_large' || code === 'FST_REQ_FILE_TOO_LARGE') return tooLarge(maxBytes);
  return err;
}

/**
 * Reads an uploaded file once, as it arrives: the format from its first bytes, then every byte both
 * into the artifact store and through the parser and profiler. The store's copy is published only
 * after the whole file parsed and profiled: a malformed or oversized file aborts the store's write,
 * so nothing of it is ever visible there.
 */
export async function ingest(
  store: ArtifactStore,
  source: AsyncIterable<Buffer | Uint8Array>,
  limits: IngestLimits,
): Promise<Ingested> {
  const { head, all } = await peek(source, SNIFF_BYTES).catch((err) => {
    throw translate(err, limits.maxBytes);
  });
  const format = detectFormat(head);
  const toStore = new PassThrough({ highWaterMark: 1024 * 1024 });
  const abort = new AbortController();
  const put = store.put(toStore, { maxBytes: limits.maxBytes, signal: abort.signal });
  let putFailure: unknown;
  const putSettled = put.then(
    () => undefined,
    (err: unknown) => {
      putFailure = err;
    },
  );
  let size = 0;
  // The store consumes at its own pace; waiting for it to drain keeps the parser from running ahead.
  async function* tee(): AsyncGenerator<Buffer> {
    for await (const chunk of all) {
      size += chunk.length;
      if (size > limits.maxBytes) throw tooLarge(limits.maxBytes);
      if (putFailure) throw putFailure;
      if (!toStore.write(chunk)) await Promise.race([once(toStore, 'drain'), putSettled]);
      yield chunk;
    }
  }
  const profiler = new DatasetProfiler(limits);
  try {
    for await (const row of parseRows(format, tee(), head)) profiler.add(row);
    if (putFailure) throw putFailure;
    const profile = profiler.finish();
    if (profile.rows === 0) throw datasetEmpty();
    toStore.end();
    const stored = await put;
    return { ...profile, format, sha256: stored.sha256, size: stored.size, created: stored.created };
  } catch (err) {
    abort.abort(err instanceof AppError ? err : undefined);
    toStore.destroy();
    await putSettled;
    throw translate(err, limits.maxBytes);
  }
}
