import { createHash } from 'node:crypto';
import { addAbortSignal, Readable } from 'node:stream';
import { artifactTooLarge, checksumMismatch } from './errors.js';
import type { PutOptions } from './store.js';

/**
 * Hashes and counts bytes as they pass, and stops the stream the moment the size limit is crossed,
 * so an oversized upload costs at most one chunk beyond the limit, never the whole body.
 */
export class Meter {
  private readonly hash = createHash('sha256');
  size = 0;

  constructor(private readonly maxBytes = Number.POSITIVE_INFINITY) {}

  async *pass(source: Readable | AsyncIterable<Uint8Array>, signal?: AbortSignal): AsyncGenerator<Buffer> {
    signal?.throwIfAborted();
    const readable = source instanceof Readable ? source : Readable.from(source, { objectMode: false });
    // Destroying the stream on abort also wakes a read that waits on a stalled network peer.
    if (signal) addAbortSignal(signal, readable);
    for await (const chunk of readable) {
      const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      this.size += buf.length;
      if (this.size > this.maxBytes) {
        readable.destroy();
        throw artifactTooLarge(this.maxBytes);
      }
      this.hash.update(buf);
      yield buf;
    }
  }

  /** The hex digest; throws `artifact_checksum_mismatch` when it differs from the expected one. */
  finish(opts: PutOptions): string {
    const sha256 = this.hash.digest('hex');
    if (opts.expectedSha256 !== undefined && opts.expectedSha256.toLowerCase() !== sha256) {
      throw checksumMismatch(opts.expectedSha256, sha256);
    }
    return sha256;
  }
}
