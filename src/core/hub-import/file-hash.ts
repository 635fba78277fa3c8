import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** The hash a hub listing gives for a file: sha256 of the content for LFS, git blob sha1 otherwise. */
export interface ExpectedHash {
  size: number;
  gitOid: string;
  sha256: string | undefined;
}

/**
 * Hashes a file as it is written, so verification needs no second pass; a resumed download first
 * catches up on the bytes already in its partial file. A file checked by git sha1 is also hashed
 * with sha256 in the same pass: the artifact store names blobs by sha256, and a digest taken over
 * the verified bytes spares the store reading the file again.
 */
export class FileHasher {
  readonly check: 'sha256' | 'git_sha1';
  readonly expected: string;
  private hash!: Hash;
  private contentHash: Hash | undefined;
  bytes = 0;

  constructor(private readonly file: ExpectedHash) {
    this.check = file.sha256 ? 'sha256' : 'git_sha1';
    this.expected = (file.sha256 ?? file.gitOid).toLowerCase();
    this.reset();
  }

  reset(): void {
    this.hash = createHash(this.check === 'sha256' ? 'sha256' : 'sha1');
    // git hashes a header with the declared size; a wrong size then fails the size check first.
    if (this.check === 'git_sha1') this.hash.update(`blob ${this.file.size}\0`);
    this.contentHash = this.check === 'git_sha1' ? createHash('sha256') : undefined;
    this.bytes = 0;
  }

  update(chunk: Uint8Array): void {
    this.hash.update(chunk);
    this.contentHash?.update(chunk);
    this.bytes += chunk.length;
  }

  /** Reads the first `length` bytes of `path` into the hash (after a reset). */
  async catchUp(path: string, length: number): Promise<void> {
    this.reset();
    if (length === 0) return;
    for await (const chunk of createReadStream(path, { start: 0, end: length - 1 }))
      this.update(chunk as Buffer);
  }

  /**
   * `digest` is the one to compare with `expected`; `sha256` is the content's sha256, trustworthy
   * only once `digest` matched. Ends the hasher: call `reset` before hashing again.
   */
  finish(): { digest: string; sha256: string } {
    const digest = this.hash.digest('hex');
    return { digest, sha256: this.contentHash ? this.contentHash.digest('hex') : digest };
  }
}

export async function hashFile(
  path: string,
  expected: ExpectedHash,
): Promise<{ digest: string; sha256: string }> {
  const hasher = new FileHasher(expected);
  for await (const chunk of createReadStream(path)) hasher.update(chunk as Buffer);
  return hasher.finish();
}
