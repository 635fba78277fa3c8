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
 * catches up on the bytes already in its partial file.
 */
export class FileHasher {
  readonly check: 'sha256' | 'git_sha1';
  readonly expected: string;
  private hash!: Hash;
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
    this.bytes = 0;
  }

  update(chunk: Uint8Array): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
  }

  /** Reads the first `length` bytes of `path` into the hash (after a reset). */
  async catchUp(path: string, length: number): Promise<void> {
    this.reset();
    if (length === 0) return;
    for await (const chunk of createReadStream(path, { start: 0, end: length - 1 }))
      this.update(chunk as Buffer);
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}

export async function hashFile(path: string, expected: ExpectedHash): Promise<string> {
  const hasher = new FileHasher(expected);
  for await (const chunk of createReadStream(path)) hasher.update(chunk as Buffer);
  return hasher.digest();
}
