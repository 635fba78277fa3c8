import type { FileHandle } from 'node:fs/promises';
import type { FileHasher } from './file-hash.js';

/** Bytes gathered before one write and one hash update: fewer syscalls and messages than per chunk. */
export const SLOT_BYTES = 1024 * 1024;
/** Slots a download may have in flight: the network keeps flowing while the disk or the hash lags. */
const SLOTS = 8;
/**
 * Written bytes are flushed to disk in the background every this many bytes, so the fdatasync that
 * must follow the last write finds little left to do instead of the whole file.
 */
export const SYNC_EVERY = 32 * 1024 * 1024;

interface Slot {
  view: Uint8Array;
  /** Settles (never rejects) when the slot's write and hash are both done. */
  busy: Promise<void>;
}

/**
 * Appends bytes to an open file and hashes them at the same time. Incoming chunks are copied into
 * slots of shared memory; a full slot is written (on the thread pool) and hashed (on the hash
 * worker) at once, and reused when both are done. Writes run one after the other, in order, so the
 * file only ever grows by whole slots in the order the bytes came.
 *
 * After a failure the hasher may be ahead of the file; `settle` then re-hashes what the file really
 * holds, so a retry resumes from the bytes on disk with a hasher that agrees with them.
 */
export class HashedWriter {
  private readonly slots: Slot[];
  private current = 0;
  /** Bytes in the current slot, not yet handed to the disk or the hash. */
  buffered = 0;
  private writes: Promise<void> = Promise.resolve();
  private written: number;
  private syncedAt: number;
  private syncing: Promise<void> | undefined;
  private failure: unknown;

  constructor(
    private readonly fh: FileHandle,
    private readonly path: string,
    private readonly hasher: FileHasher,
    startSize: number,
    /** Called after each write with the file's size so far. */
    private readonly onWrite: (written: number) => void,
  ) {
    const memory = new SharedArrayBuffer(SLOT_BYTES * SLOTS);
    this.slots = Array.from({ length: SLOTS }, (_, i) => ({
      view: new Uint8Array(memory, i * SLOT_BYTES, SLOT_BYTES),
      busy: Promise.resolve(),
    }));
    this.written = startSize;
    this.syncedAt = startSize;
  }

  /** Takes a chunk; waits only when every slot is still being written or hashed. */
  async push(chunk: Uint8Array): Promise<void> {
    for (let at = 0; at < chunk.length; ) {
      const slot = this.slots[this.current] as Slot;
      const n = Math.min(chunk.length - at, SLOT_BYTES - this.buffered);
      slot.view.set(chunk.subarray(at, at + n), this.buffered);
      this.buffered += n;
      at += n;
      if (this.buffered === SLOT_BYTES) await this.submit();
    }
  }

  /** Hands the buffered bytes over and waits until everything handed over is written and hashed. */
  async flush(): Promise<void> {
    if (this.buffered > 0) await this.submit();
    await Promise.all(this.slots.map((s) => s.busy));
    await this.syncing;
    this.throwIfFailed();
  }

  /** Flushes, then makes the file's data durable. */
  async sync(): Promise<void> {
    await this.flush();
    await this.fh.datasync();
  }

  /**
   * Drops the buffered bytes (never written, never hashed) and waits for what is in flight; when
   * the hasher and the file disagree after a failure, re-hashes the file from disk. Call before
   * closing the file, whatever happened.
   */
  async settle(): Promise<void> {
    this.buffered = 0;
    await Promise.all(this.slots.map((s) => s.busy));
    await this.syncing;
    const { size } = await this.fh.stat();
    if (this.failure !== undefined || size !== this.hasher.bytes) await this.hasher.catchUp(this.path, size);
  }

  private async submit(): Promise<void> {
    const slot = this.slots[this.current] as Slot;
    const view = slot.view.subarray(0, this.buffered);
    this.buffered = 0;
    this.current = (this.current + 1) % SLOTS;
    this.throwIfFailed();
    const hashed = this.hasher.update(view);
    this.writes = this.writes.then(async () => {
      // A failed write stops the ones queued behind it: the file must not get a hole.
      if (this.failure !== undefined) return;
      await writeAll(this.fh, view);
      this.written += view.length;
      this.onWrite(this.written);
      this.backgroundSync();
    });
    slot.busy = Promise.all([hashed, this.writes]).then(
      () => undefined,
      (err) => {
        this.failure ??= err;
      },
    );
    // The next slot may still be in use by an earlier round.
    await (this.slots[this.current] as Slot).busy;
    this.throwIfFailed();
  }

  private backgroundSync(): void {
    if (this.syncing || this.written - this.syncedAt < SYNC_EVERY) return;
    const upTo = this.written;
    this.syncing = this.fh.datasync().then(
      () => {
        this.syncedAt = upTo;
        this.syncing = undefined;
      },
      (err) => {
        this.failure ??= err;
        this.syncing = undefined;
      },
    );
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }
}

/** write may write less than asked; the rest follows until all of it is on disk. */
async function writeAll(fh: FileHandle, view: Uint8Array): Promise<void> {
  for (let at = 0; at < view.length; ) {
    const { bytesWritten } = await fh.write(view, at, view.length - at, null);
    if (bytesWritten === 0) throw new Error('write wrote nothing');
    at += bytesWritten;
  }
}
