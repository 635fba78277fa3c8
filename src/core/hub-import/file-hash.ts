import { open } from 'node:fs/promises';
import { RemoteHash } from './hash-worker.js';

/** The hash a hub listing gives for a file: sha256 of the content for LFS, git blob sha1 otherwise. */
export interface ExpectedHash {
  size: number;
  gitOid: string;
  sha256: string | undefined;
}

/** The digest a verified download of `file` has: the hub's sha256, or its git blob sha1. */
export const expectedDigest = (file: ExpectedHash) => (file.sha256 ?? file.gitOid).toLowerCase();

/** Bytes read from disk per hash update when a file is hashed again (resume, existing file). */
const READ_SLOT = 1024 * 1024;

/**
 * Hashes a file as it is written, so verification needs no second pass; a resumed download first
 * catches up on the bytes already in its partial file. A file checked by git sha1 is also hashed
 * with sha256 in the same pass: the artifact store names blobs by sha256, and a digest taken over
 * the verified bytes spares the store reading the file again.
 *
 * The hashing runs on the hash worker (see hash-worker.ts): `update` takes a view on shared memory
 * and resolves once those bytes are hashed. Updates apply in the order they were called; `bytes`
 * counts what was handed over, hashed or not yet.
 */
export class FileHasher {
  readonly check: 'sha256' | 'git_sha1';
  readonly expected: string;
  private hash!: RemoteHash;
  bytes = 0;

  constructor(private readonly file: ExpectedHash) {
    this.check = file.sha256 ? 'sha256' : 'git_sha1';
    this.expected = expectedDigest(file);
    this.reset();
  }

  reset(): void {
    this.hash?.drop();
    // git hashes a header with the declared size; a wrong size then fails the size check first.
    this.hash =
      this.check === 'sha256'
        ? new RemoteHash(['sha256'])
        : new RemoteHash(['sha1', 'sha256'], `blob ${this.file.size}\0`);
    this.bytes = 0;
  }

  /** Hashes `view` (shared memory, left unchanged until the promise settles). */
  update(view: Uint8Array): Promise<void> {
    this.bytes += view.length;
    return this.hash.update(view);
  }

  /** Resets, then reads the first `length` bytes of `path` into the hash. */
  async catchUp(path: string, length: number): Promise<void> {
    this.reset();
    if (length > 0) await hashFromDisk(this, path, length);
  }

  /**
   * `digest` is the one to compare with `expected`; `sha256` is the content's sha256, trustworthy
   * only once `digest` matched. Ends the hasher: call `reset` before hashing again.
   */
  async finish(): Promise<{ digest: string; sha256: string }> {
    const [digest = '', content] = await this.hash.digest();
    return { digest, sha256: content ?? digest };
  }

  /** Ends the hasher without a digest, so the worker forgets its state. */
  dispose(): void {
    this.hash.drop();
  }
}

export async function hashFile(
  path: string,
  expected: ExpectedHash,
): Promise<{ digest: string; sha256: string }> {
  const hasher = new FileHasher(expected);
  try {
    await hashFromDisk(hasher, path, Number.POSITIVE_INFINITY);
  } catch (err) {
    hasher.dispose();
    throw err;
  }
  return hasher.finish();
}

/**
 * Reads up to `length` bytes of `path` into `hasher`, two slots of shared memory taking turns: one
 * is read from disk while the worker hashes the other.
 */
async function hashFromDisk(hasher: FileHasher, path: string, length: number): Promise<void> {
  const fh = await open(path, 'r');
  const slots = [0, 1].map(() => new Uint8Array(new SharedArrayBuffer(READ_SLOT)));
  const hashing: Promise<unknown>[] = [Promise.resolve(), Promise.resolve()];
  try {
    for (let at = 0, i = 0; at < length; i ^= 1) {
      const slot = slots[i] as Uint8Array;
      await hashing[i];
      const { bytesRead } = await fh.read(slot, 0, Math.min(READ_SLOT, length - at), at);
      if (bytesRead === 0) break;
      // Observed right away so a failure while the other slot is read is not an unhandled rejection.
      const p = hasher.update(slot.subarray(0, bytesRead));
      p.catch(() => undefined);
      hashing[i] = p;
      at += bytesRead;
    }
    await Promise.all(hashing);
  } finally {
    // Closing waits for the other slot too: a read never lands in memory the worker is hashing.
    await Promise.allSettled(hashing);
    await fh.close();
  }
}
