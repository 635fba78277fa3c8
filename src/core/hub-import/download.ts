import { type FileHandle, mkdir, open, rename, rm, stat, statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileDownloadInfo, HubApiError } from '@huggingface/hub';
import { AppError } from '../../platform/errors.js';
import {
  DownloadCancelledError,
  DownloadVerificationError,
  HubNotFoundError,
  HubProtocolError,
  InsufficientDiskSpaceError,
} from './errors.js';
import { type ExpectedHash, FileHasher, hashFile } from './file-hash.js';
import { chunksOf, getBytes } from './http-get.js';
import { type ProgressListener, ProgressTracker } from './progress.js';
import { localPathFor } from './repo-path.js';
import { RetryableError, type RetryPolicy, withRetry } from './retry.js';

/** Suffix of a file still being downloaded; a verified file is renamed to its real name. */
export const PARTIAL_SUFFIX = '.polar-partial';

/** Bytes gathered before one write: fewer syscalls than writing every network chunk. */
const WRITE_BATCH = 1024 * 1024;
/**
 * Written bytes are flushed to disk in the background every this many bytes, so the fdatasync
 * that must follow the last write finds little left to do instead of the whole file.
 */
export const SYNC_EVERY = 32 * 1024 * 1024;

export interface DownloadDeps {
  idleTimeoutMs: number;
  diskReserveBytes: number;
  statfs?: (path: string) => Promise<{ bavail: number; bsize: number }>;
}

export interface DownloadResult {
  /** Local path of the verified file. */
  path: string;
  bytes: number;
  /** Bytes that were already on disk from an earlier, interrupted run. */
  resumedFrom: number;
  /**
   * sha256 of the verified file, computed while it was downloaded (or re-checked): for LFS files it
   * is the hub's, checked; for others it was taken over the same bytes whose git sha1 matched.
   */
  sha256: string;
}

export interface DownloadParams {
  repo: string;
  commit: string;
  file: ExpectedHash & { path: string };
  dir: string;
  signal?: AbortSignal;
  onProgress?: ProgressListener;
  endpoint: string;
  token: string | undefined;
  fetch: typeof fetch;
  retry: RetryPolicy;
  deps: DownloadDeps;
  /** Turns a library or network failure into a Polar error or a RetryableError. */
  mapError: (err: unknown) => Error;
}

class IdleTimeout extends Error {}

export async function downloadRepoFile(p: DownloadParams): Promise<DownloadResult> {
  const { file } = p;
  // The name is checked before anything touches the disk or the network.
  const target = localPathFor(p.dir, file.path);
  if (file.path.endsWith(PARTIAL_SUFFIX)) throw new HubProtocolError(`reserved file name ${file.path}`);
  const partial = target + PARTIAL_SUFFIX;
  if (p.signal?.aborted) throw new DownloadCancelledError(file.path);
  await mkdir(dirname(target), { recursive: true });

  if ((await sizeOf(target)) === file.size) {
    const { digest, sha256 } = await hashFile(target, file);
    if (digest === new FileHasher(file).expected) {
      return { path: target, bytes: file.size, resumedFrom: file.size, sha256 };
    }
  }
  await rm(target, { force: true });

  let offset = await sizeOf(partial);
  if (offset > file.size) {
    await rm(partial, { force: true });
    offset = 0;
  }
  await checkDiskSpace(dirname(target), file.size - offset + p.deps.diskReserveBytes, p.deps.statfs);

  const hasher = new FileHasher(file);
  await hasher.catchUp(partial, offset);
  const tracker = new ProgressTracker(file.path, file.size, offset, p.onProgress);
  const resumedFrom = offset;

  // Each attempt reports a cancel itself; this catch covers a cancel during the wait between attempts.
  await withRetry(p.retry, p.signal, (markProgress) =>
    attempt(p, partial, hasher, tracker, markProgress),
  ).catch((err) => {
    if (p.signal?.aborted) throw new DownloadCancelledError(file.path);
    throw err;
  });

  const size = await sizeOf(partial);
  if (size !== file.size) {
    await rm(partial, { force: true });
    throw new DownloadVerificationError(file.path, 'size', String(file.size), String(size));
  }
  const { digest, sha256 } = hasher.finish();
  if (digest !== hasher.expected) {
    await rm(partial, { force: true });
    throw new DownloadVerificationError(file.path, hasher.check, hasher.expected, digest);
  }
  await rename(partial, target);
  tracker.update(file.size, true);
  return { path: target, bytes: file.size, resumedFrom, sha256 };
}

/** One request for the bytes still missing; appends them to the partial file as they arrive. */
async function attempt(
  p: DownloadParams,
  partial: string,
  hasher: FileHasher,
  tracker: ProgressTracker,
  markProgress: () => void,
): Promise<void> {
  const { file } = p;
  const idle = new AbortController();
  const timer = setTimeout(() => idle.abort(new IdleTimeout()), p.deps.idleTimeoutMs);
  const signal = p.signal ? AbortSignal.any([idle.signal, p.signal]) : idle.signal;
  const fetch: typeof globalThis.fetch = (input, init) => p.fetch(input, { ...init, signal });
  try {
    // The probe follows the hub's redirect once, so retries go straight to the storage URL.
    const info = await fileDownloadInfo({
      repo: p.repo,
      path: file.path,
      revision: p.commit,
      hubUrl: p.endpoint,
      accessToken: p.token,
      fetch,
    });
    if (!info) throw new HubNotFoundError('file', file.path);
    if (info.size !== file.size) {
      await rm(partial, { force: true });
      throw new DownloadVerificationError(file.path, 'size', String(file.size), String(info.size));
    }
    let offset = hasher.bytes;
    if (offset === file.size) return;
    timer.refresh();
    const headers: Record<string, string> = {};
    if (offset > 0) headers.Range = `bytes=${offset}-`;
    if (p.token) headers.Authorization = `Bearer ${p.token}`;
    // The bytes come over node:http, not fetch: see getBytes. Metadata and the probe stay on fetch.
    const res = await getBytes(info.url, headers, signal);
    if (res.status < 200 || res.status > 299) {
      res.body.resume();
      throw p.mapError(new HubApiError(info.url, res.status));
    }
    if (offset > 0 && res.status !== 206) {
      // The server ignored the Range: take the whole body from the start rather than append a copy.
      offset = 0;
      hasher.reset();
    } else if (offset > 0) {
      const expected = `bytes ${offset}-${file.size - 1}/${file.size}`;
      const got = res.header('content-range');
      if (got !== expected) {
        res.body.destroy();
        throw new HubProtocolError(`${file.path}: Content-Range ${got ?? 'missing'}, expected ${expected}`);
      }
    }
    const length = res.header('content-length');
    if (length !== undefined && Number(length) !== file.size - offset) {
      res.body.destroy();
      await rm(partial, { force: true });
      throw new DownloadVerificationError(
        file.path,
        'size',
        String(file.size),
        String(offset + Number(length)),
      );
    }
    await receive(chunksOf(res.body), partial, offset, hasher, file.size, () => {
      timer.refresh();
      tracker.update(hasher.bytes);
      markProgress();
    });
  } catch (err) {
    if (p.signal?.aborted) throw new DownloadCancelledError(file.path);
    if (idle.signal.aborted) {
      throw new RetryableError(`${file.path}: no data for ${p.deps.idleTimeoutMs} ms`);
    }
    if (err instanceof AppError || err instanceof RetryableError) throw err;
    throw p.mapError(err);
  } finally {
    clearTimeout(timer);
  }
}

/** Streams `body` into the partial file from `offset`; bytes that did arrive are kept even if the stream fails. */
async function receive(
  body: AsyncIterable<Buffer>,
  partial: string,
  offset: number,
  hasher: FileHasher,
  size: number,
  onWrite: () => void,
): Promise<void> {
  const fh = await open(partial, offset === 0 ? 'w' : 'a');
  const syncer = new BackgroundSync(fh, SYNC_EVERY);
  let batch: Buffer[] = [];
  let batched = 0;
  // At most one write in flight: the next batch is read from the network while the previous one is
  // written, instead of leaving the socket paused (and the hub stalled) during every write. Writes
  // still land in order, because each starts only after the one before it finished.
  let inFlight: Promise<void> | undefined;
  const settle = async () => {
    const pending = inFlight;
    inFlight = undefined;
    try {
      await pending;
    } catch (err) {
      // The hash ran ahead of a write that failed: it restarts from what the disk really holds.
      await hasher.catchUp(partial, (await fh.stat()).size);
      throw err;
    }
  };
  const flush = async () => {
    await settle();
    if (batched === 0) return;
    const data = batch;
    batch = [];
    batched = 0;
    // One writev, no copy into a single buffer. It runs on the thread pool while this thread
    // hashes the same (unchanging) chunks.
    inFlight = writeAll(fh, data).then(() => {
      syncer.wrote(batchBytes(data));
      onWrite();
    });
    for (const chunk of data) hasher.update(chunk);
  };
  try {
    for await (const chunk of body) {
      if (hasher.bytes + batched + chunk.length > size) {
        throw new HubProtocolError(`the hub sent more than the ${size} bytes it listed`);
      }
      batch.push(chunk);
      batched += chunk.length;
      if (batched >= WRITE_BATCH) await flush();
    }
    await flush();
    await settle();
    await syncer.settle();
    if (hasher.bytes === size) await fh.datasync();
  } catch (err) {
    if (!(err instanceof HubProtocolError)) {
      await flush();
      await settle();
    } else {
      // Bytes already handed to a write stay on disk; the hasher must agree with them.
      await settle().catch(() => undefined);
    }
    throw err;
  } finally {
    await syncer.settle().catch(() => undefined);
    await fh.close();
  }
}

const batchBytes = (chunks: Buffer[]) => chunks.reduce((n, c) => n + c.length, 0);

/**
 * Starts an fdatasync whenever `every` more bytes were written since the last one began, at most
 * one at a time; it runs on the thread pool while the download goes on.
 */
export class BackgroundSync {
  private pending = 0;
  private running: Promise<void> | undefined;
  private failure: unknown;

  constructor(
    private readonly fh: FileHandle,
    private readonly every: number,
  ) {}

  wrote(bytes: number): void {
    this.pending += bytes;
    if (this.running || this.pending < this.every) return;
    this.pending = 0;
    this.running = this.fh.datasync().then(
      () => {
        this.running = undefined;
      },
      (err) => {
        this.failure ??= err;
        this.running = undefined;
      },
    );
  }

  /** Waits for the flush in progress; throws if one failed. */
  async settle(): Promise<void> {
    await this.running;
    if (this.failure !== undefined) throw this.failure;
  }
}

/** writev may write less than asked (as write may); the rest follows until all of it is on disk. */
async function writeAll(fh: FileHandle, chunks: Buffer[]): Promise<void> {
  let rest = chunks;
  while (rest.length > 0) {
    const { bytesWritten } = await fh.writev(rest);
    if (bytesWritten === 0) throw new Error('writev wrote nothing');
    rest = dropBytes(rest, bytesWritten);
  }
}

function dropBytes(chunks: Buffer[], count: number): Buffer[] {
  let left = count;
  let i = 0;
  while (i < chunks.length && left >= (chunks[i] as Buffer).length) {
    left -= (chunks[i] as Buffer).length;
    i++;
  }
  const rest = chunks.slice(i);
  if (left > 0 && rest[0]) rest[0] = rest[0].subarray(left);
  return rest;
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
}

async function checkDiskSpace(dir: string, needed: number, stats: DownloadDeps['statfs']): Promise<void> {
  const s = stats ? await stats(dir) : await statfs(dir);
  const available = Number(s.bavail) * Number(s.bsize);
  if (available < needed) throw new InsufficientDiskSpaceError(needed, available);
}
