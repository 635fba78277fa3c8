import type { Readable } from 'node:stream';
import { invalidDigest, rangeNotSatisfiable } from './errors.js';

/**
 * Content-addressed blob storage for model files. A blob's name is the sha256 of its bytes, so
 * identical files are stored once and a name can never point at different content. `put` hashes
 * while it streams into a private temporary location and publishes under the content name only
 * when every byte has arrived: a reader never sees a half-written blob.
 */
export interface ArtifactInfo {
  sha256: string;
  size: number;
  /** When the blob was last published; garbage collection spares recent ones. */
  modifiedAt: Date;
}

export interface PutOptions {
  /** Refuse with `artifact_too_large` as soon as more bytes than this arrive. */
  maxBytes?: number;
  /** Refuse with `artifact_checksum_mismatch` (nothing published) when the content differs. */
  expectedSha256?: string;
  signal?: AbortSignal;
}

/**
 * What the caller of `adopt` knows about the file it hands over. The size is always checked
 * against the file; the sha256 is trusted as the blob's name without being recomputed, so it must
 * come from hashing these very bytes (for instance while downloading them, then verified against
 * the source's checksum). A sha256 merely announced by a remote party is a `PutOptions.expectedSha256`
 * for `put`, never a `verifiedSha256`.
 */
export interface AdoptOptions {
  verifiedSha256: string;
  size: number;
  signal?: AbortSignal;
}

export interface PutResult {
  sha256: string;
  size: number;
  /**
   * Whether this put published the blob, rather than finding the same content already stored; a
   * caller that gives up may delete only what it created (and only while nothing references it).
   */
  created: boolean;
}

/** Inclusive byte positions, as in an HTTP Range header. */
export interface ByteRange {
  start?: number;
  end?: number;
}

export interface ArtifactStore {
  readonly kind: 'local' | 's3';
  put(source: Readable | AsyncIterable<Uint8Array>, opts?: PutOptions): Promise<PutResult>;
  /**
   * Takes ownership of a finished file at `filePath` and stores it under `verifiedSha256` (see
   * `AdoptOptions` for the contract). The source is gone afterwards whatever the outcome but a
   * refusal: moved into place when it can be, deleted when the blob already exists, else streamed
   * through `put` (which hashes again) and then deleted. Refuses with `artifact_size_mismatch`
   * when the file's size differs, leaving the source in place.
   */
  adopt(filePath: string, opts: AdoptOptions): Promise<{ sha256: string; size: number }>;
  has(sha256: string): Promise<boolean>;
  /** null when absent. */
  stat(sha256: string): Promise<ArtifactInfo | null>;
  /** Throws `artifact_not_found`, or `range_not_satisfiable` for a range outside the blob. */
  open(sha256: string, range?: ByteRange): Promise<Readable>;
  /** true when something was deleted. */
  delete(sha256: string): Promise<boolean>;
  list(): AsyncIterable<ArtifactInfo>;
  /** Removes temporary uploads older than `before` (left by a crash); answers how many. */
  sweepTemporary(before: Date): Promise<number>;
}

const SHA256 = /^[0-9a-f]{64}$/;

export function assertDigest(sha256: string): void {
  if (!SHA256.test(sha256)) throw invalidDigest();
}

export const isDigest = (s: string) => SHA256.test(s);

/** Sharded relative location of a blob: ab/cd/abcd… keeps directories small. */
export const shardedPath = (sha256: string) => `${sha256.slice(0, 2)}/${sha256.slice(2, 4)}/${sha256}`;

/** Validates a range against a blob size; answers inclusive [start, end] or null for an empty blob. */
export function resolveRange(size: number, range: ByteRange = {}): { start: number; end: number } | null {
  const start = range.start ?? 0;
  const end = range.end ?? size - 1;
  if (size === 0 && range.start === undefined && range.end === undefined) return null;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw rangeNotSatisfiable(size);
  }
  if (start >= size || end >= size) throw rangeNotSatisfiable(size);
  return { start, end };
}
