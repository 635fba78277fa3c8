import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { gitBlobSha1 } from '../../../test/fixtures/fake-hub/index.js';
import { FileHasher, hashFile } from './file-hash.js';
import { HashedWriter, SLOT_BYTES, SYNC_EVERY } from './hashed-writer.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const lfs = (content: Buffer) => ({ size: content.length, gitOid: '0'.repeat(40), sha256: sha256(content) });
const small = (content: Buffer) => ({
  size: content.length,
  gitOid: gitBlobSha1(content),
  sha256: undefined,
});

/** Chunks of an awkward size, so slots fill across chunk boundaries. */
function* chunks(content: Buffer, size: number) {
  for (let at = 0; at < content.length; at += size) yield content.subarray(at, at + size);
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'polar-hashed-writer-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function writeThrough(
  content: Buffer,
  hasher: FileHasher,
  wrap: (fh: Awaited<ReturnType<typeof open>>) => Awaited<ReturnType<typeof open>> = (fh) => fh,
) {
  const path = join(dir, 'file.partial');
  const fh = wrap(await open(path, 'w'));
  const writes: number[] = [];
  const writer = new HashedWriter(fh, path, hasher, 0, (n) => writes.push(n));
  try {
    for (const c of chunks(content, 70_001)) await writer.push(c);
    await writer.sync();
  } finally {
    await writer.settle();
    await fh.close();
  }
  return { path, writes };
}

describe('HashedWriter', () => {
  it('writes every byte in order and hashes them off the main thread', async () => {
    const content = randomBytes(3 * SLOT_BYTES + 12_345);
    const hasher = new FileHasher(lfs(content));
    const { path, writes } = await writeThrough(content, hasher);
    expect((await readFile(path)).equals(content)).toBe(true);
    expect(hasher.bytes).toBe(content.length);
    expect(await hasher.finish()).toEqual({ digest: sha256(content), sha256: sha256(content) });
    // Whole slots, then the rest, each reported with the size written so far.
    expect(writes).toEqual([SLOT_BYTES, 2 * SLOT_BYTES, 3 * SLOT_BYTES, content.length]);
  });

  it('gives the git blob sha1 and the content sha256 for a file checked by git', async () => {
    const content = Buffer.from('{"model_type":"llama"}\n');
    const hasher = new FileHasher(small(content));
    await writeThrough(content, hasher);
    expect(await hasher.finish()).toEqual({ digest: gitBlobSha1(content), sha256: sha256(content) });
  });

  it('flushes to disk in the background as the file grows, and once more at the end', async () => {
    const content = randomBytes(SYNC_EVERY * 2 + SLOT_BYTES);
    let syncs = 0;
    const hasher = new FileHasher(lfs(content));
    await writeThrough(content, hasher, (fh) => {
      const datasync = fh.datasync.bind(fh);
      fh.datasync = () => {
        syncs++;
        return datasync();
      };
      return fh;
    });
    expect(syncs).toBeGreaterThanOrEqual(2);
    expect((await hasher.finish()).digest).toBe(sha256(content));
  });

  it('after a failed write, re-hashes what the file really holds so a retry can resume', async () => {
    const content = randomBytes(5 * SLOT_BYTES);
    const hasher = new FileHasher(lfs(content));
    let calls = 0;
    const failing = writeThrough(content, hasher, (fh) => {
      const write = fh.write.bind(fh) as (...a: unknown[]) => Promise<unknown>;
      (fh as { write: unknown }).write = (...args: unknown[]) => {
        if (++calls === 3) return Promise.reject(Object.assign(new Error('no space'), { code: 'ENOSPC' }));
        return write(...args);
      };
      return fh;
    });
    await expect(failing).rejects.toThrow('no space');
    const onDisk = await readFile(join(dir, 'file.partial'));
    expect(onDisk.length).toBe(2 * SLOT_BYTES);
    expect(hasher.bytes).toBe(onDisk.length);
    expect((await hasher.finish()).digest).toBe(sha256(onDisk));
  });
});

describe('FileHasher', () => {
  it('keeps the hashes of interleaved files apart', async () => {
    const a = randomBytes(2 * SLOT_BYTES + 1);
    const b = randomBytes(SLOT_BYTES + 7);
    const ha = new FileHasher(lfs(a));
    const hb = new FileHasher(lfs(b));
    await Promise.all([writeThroughNamed(a, ha, 'a'), writeThroughNamed(b, hb, 'b')]);
    expect((await ha.finish()).digest).toBe(sha256(a));
    expect((await hb.finish()).digest).toBe(sha256(b));
  });

  it('catches up on the first bytes of a file and hashes whole files from disk', async () => {
    const content = randomBytes(SLOT_BYTES * 2 + 99);
    const path = join(dir, 'whole');
    await writeFile(path, content);
    const hasher = new FileHasher(lfs(content));
    await hasher.catchUp(path, SLOT_BYTES + 5);
    expect(hasher.bytes).toBe(SLOT_BYTES + 5);
    expect((await hasher.finish()).digest).toBe(sha256(content.subarray(0, SLOT_BYTES + 5)));
    expect(await hashFile(path, small(content))).toEqual({
      digest: gitBlobSha1(content),
      sha256: sha256(content),
    });
  });
});

async function writeThroughNamed(content: Buffer, hasher: FileHasher, name: string) {
  const path = join(dir, name);
  const fh = await open(path, 'w');
  const writer = new HashedWriter(fh, path, hasher, 0, () => undefined);
  try {
    for (const c of chunks(content, 65_536)) await writer.push(c);
    await writer.sync();
  } finally {
    await writer.settle();
    await fh.close();
  }
}
