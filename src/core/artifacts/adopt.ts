import { createReadStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { sizeMismatch } from './errors.js';
import { type AdoptOptions, type ArtifactStore, assertDigest } from './store.js';

/** Checks the adopt contract's cheap part up front: a well-formed digest and the announced size. */
export async function checkAdoptable(filePath: string, opts: AdoptOptions): Promise<void> {
  assertDigest(opts.verifiedSha256);
  const { size } = await stat(filePath);
  if (size !== opts.size) throw sizeMismatch(opts.size, size);
}

/**
 * `adopt` for a store that cannot take the file as it is: streams it through `put`, which hashes
 * again and refuses a digest other than the verified one, then removes the source.
 */
export async function adoptByStreaming(
  store: ArtifactStore,
  filePath: string,
  opts: AdoptOptions,
): Promise<{ sha256: string; size: number }> {
  await checkAdoptable(filePath, opts);
  const stored = await store.put(createReadStream(filePath), {
    expectedSha256: opts.verifiedSha256,
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  // The file may have changed between the stat and the read; what was stored is what counts.
  if (stored.size !== opts.size) throw sizeMismatch(opts.size, stored.size);
  await rm(filePath, { force: true });
  return { sha256: stored.sha256, size: stored.size };
}
