import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, unlink, utimes } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { adoptByStreaming, checkAdoptable } from './adopt.js';
import { artifactNotFound } from './errors.js';
import { Meter } from './meter.js';
import {
  type AdoptOptions,
  type ArtifactInfo,
  type ArtifactStore,
  assertDigest,
  type ByteRange,
  isDigest,
  type PutOptions,
  type PutResult,
  resolveRange,
  shardedPath,
} from './store.js';

const errno = (err: unknown) => (err as NodeJS.ErrnoException).code;

/**
 * Blobs under `<root>/sha256/ab/cd/<sha>`, uploads in progress under `<root>/tmp`. Both live in one
 * directory tree, so publishing is a rename within one file system: atomic, never a copy.
 */
export class LocalArtifactStore implements ArtifactStore {
  readonly kind = 'local' as const;
  private readonly blobs: string;
  private readonly tmp: string;

  constructor(
    root: string,
    private readonly defaults: {
      maxBytes?: number;
      /** Replaceable so tests can stand for a source on another file system (EXDEV). */
      rename?: (from: string, to: string) => Promise<void>;
    } = {},
  ) {
    this.blobs = join(root, 'sha256');
    this.tmp = join(root, 'tmp');
  }

  private pathOf(sha256: string): string {
    assertDigest(sha256);
    return join(this.blobs, shardedPath(sha256));
  }

  async put(source: Readable | AsyncIterable<Uint8Array>, opts: PutOptions = {}): Promise<PutResult> {
    await mkdir(this.tmp, { recursive: true });
    const tmpPath = join(this.tmp, `${randomUUID()}.part`);
    const meter = new Meter(opts.maxBytes ?? this.defaults.maxBytes);
    const fh = await open(tmpPath, 'wx', 0o644);
    let published = false;
    try {
      for await (const buf of meter.pass(source, opts.signal)) {
        let written = 0;
        while (written < buf.length) {
          const { bytesWritten } = await fh.write(buf, written, buf.length - written);
          written += bytesWritten;
        }
      }
      const sha256 = meter.finish(opts);
      // The data must be on disk before the name points at it, or a crash could publish a hole.
      await fh.sync();
      await fh.close();
      const target = this.pathOf(sha256);
      await mkdir(dirname(target), { recursive: true });
      const created = (await this.stat(sha256)) === null;
      await rename(tmpPath, target);
      published = true;
      // A re-upload refreshes the time, so a blob about to be referenced again is not collected.
      const now = new Date();
      await utimes(target, now, now);
      await syncDir(dirname(target));
      return { sha256, size: meter.size, created };
    } finally {
      if (!published) {
        await fh.close().catch(() => {});
        await rm(tmpPath, { force: true });
      }
    }
  }

  /**
   * Moves a file the caller hands over into its content address: no copy, no second hash (the
   * contract on `AdoptOptions` says why that is sound). Outside this store's file system a rename
   * is impossible, and the file is streamed through `put` instead.
   */
  async adopt(filePath: string, opts: AdoptOptions): Promise<{ sha256: string; size: number }> {
    await checkAdoptable(filePath, opts);
    const sha256 = opts.verifiedSha256;
    const target = this.pathOf(sha256);
    opts.signal?.throwIfAborted();
    const now = new Date();
    try {
      // Refreshing the time keeps a blob about to be referenced again from being collected.
      await utimes(target, now, now);
      await rm(filePath, { force: true });
      return { sha256, size: opts.size };
    } catch (err) {
      if (errno(err) !== 'ENOENT') throw err;
    }
    // The data must be on disk before the name points at it, or a crash could publish a hole.
    const fh = await open(filePath, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await mkdir(dirname(target), { recursive: true });
    try {
      await (this.defaults.rename ?? rename)(filePath, target);
    } catch (err) {
      if (errno(err) === 'EXDEV') return adoptByStreaming(this, filePath, opts);
      throw err;
    }
    await utimes(target, now, now);
    await syncDir(dirname(target));
    return { sha256, size: opts.size };
  }

  async has(sha256: string): Promise<boolean> {
    return (await this.stat(sha256)) !== null;
  }

  async stat(sha256: string): Promise<ArtifactInfo | null> {
    try {
      const st = await stat(this.pathOf(sha256));
      return { sha256, size: st.size, modifiedAt: st.mtime };
    } catch (err) {
      if (errno(err) === 'ENOENT') return null;
      throw err;
    }
  }

  async open(sha256: string, range?: ByteRange): Promise<Readable> {
    const path = this.pathOf(sha256);
    // Opening first pins the inode: a concurrent delete cannot cut the stream short.
    let fh: Awaited<ReturnType<typeof open>>;
    try {
      fh = await open(path, 'r');
    } catch (err) {
      if (errno(err) === 'ENOENT') throw artifactNotFound();
      throw err;
    }
    try {
      const { size } = await fh.stat();
      const r = resolveRange(size, range);
      if (!r) {
        await fh.close();
        return Readable.from([]);
      }
      return createReadStream('', { fd: fh, start: r.start, end: r.end, autoClose: true });
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  async delete(sha256: string): Promise<boolean> {
    try {
      await unlink(this.pathOf(sha256));
      return true;
    } catch (err) {
      if (errno(err) === 'ENOENT') return false;
      throw err;
    }
  }

  async *list(): AsyncIterable<ArtifactInfo> {
    for (const a of await listDir(this.blobs)) {
      for (const b of await listDir(join(this.blobs, a))) {
        for (const name of await listDir(join(this.blobs, a, b))) {
          if (!isDigest(name) || shardedPath(name) !== `${a}/${b}/${name}`) continue;
          const info = await this.stat(name);
          if (info) yield info;
        }
      }
    }
  }

  async sweepTemporary(before: Date): Promise<number> {
    let removed = 0;
    for (const name of await listDir(this.tmp)) {
      const path = join(this.tmp, name);
      try {
        if ((await stat(path)).mtime < before) {
          await rm(path, { force: true });
          removed++;
        }
      } catch (err) {
        if (errno(err) !== 'ENOENT') throw err;
      }
    }
    return removed;
  }
}

async function listDir(path: string): Promise<string[]> {
  try {
    return (await readdir(path)).sort();
  } catch (err) {
    if (errno(err) === 'ENOENT') return [];
    throw err;
  }
}

async function syncDir(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
