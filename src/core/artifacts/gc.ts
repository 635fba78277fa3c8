import type { ArtifactStore } from './store.js';

export interface CollectResult {
  deleted: string[];
  freedBytes: number;
  temporaryRemoved: number;
}

/**
 * Deletes blobs that no version references. A blob younger than the grace period is spared even
 * when unreferenced: it may belong to an upload whose version row is not written yet. The same
 * grace applies to temporary uploads, which only a crashed process leaves behind for that long.
 */
export async function collectGarbage(
  store: ArtifactStore,
  referenced: ReadonlySet<string>,
  opts: { graceMs?: number; now?: Date } = {},
): Promise<CollectResult> {
  const graceMs = opts.graceMs ?? 24 * 60 * 60 * 1000;
  const cutoff = new Date((opts.now ?? new Date()).getTime() - graceMs);
  const result: CollectResult = { deleted: [], freedBytes: 0, temporaryRemoved: 0 };
  for await (const blob of store.list()) {
    if (referenced.has(blob.sha256) || blob.modifiedAt >= cutoff) continue;
    if (await store.delete(blob.sha256)) {
      result.deleted.push(blob.sha256);
      result.freedBytes += blob.size;
    }
  }
  result.temporaryRemoved = await store.sweepTemporary(cutoff);
  return result;
}
