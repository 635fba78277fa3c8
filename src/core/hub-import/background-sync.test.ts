import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BackgroundSync } from './download.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'polar-bgsync-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A real file handle whose fdatasync calls are counted. */
async function countedFile() {
  const fh = await open(join(dir, 'f'), 'w');
  const calls = { n: 0 };
  const datasync = fh.datasync.bind(fh);
  fh.datasync = () => {
    calls.n++;
    return datasync();
  };
  return { fh, calls };
}

describe('BackgroundSync', () => {
  it('flushes once per threshold of written bytes, one flush at a time', async () => {
    const { fh, calls } = await countedFile();
    const sync = new BackgroundSync(fh, 4096);
    const chunk = Buffer.alloc(1024, 7);
    for (let i = 0; i < 3; i++) {
      await fh.write(chunk);
      sync.wrote(chunk.length);
    }
    expect(calls.n).toBe(0);
    await fh.write(chunk);
    sync.wrote(chunk.length);
    expect(calls.n).toBe(1);
    // Another threshold's worth while the first flush may still run starts at most one more.
    for (let i = 0; i < 8; i++) sync.wrote(1024);
    expect(calls.n).toBeLessThanOrEqual(2);
    await sync.settle();
    await fh.close();
    expect((await readFile(join(dir, 'f'))).length).toBe(4096);
  });

  it('reports a failed flush when settled', async () => {
    const { fh } = await countedFile();
    fh.datasync = () => Promise.reject(Object.assign(new Error('I/O error'), { code: 'EIO' }));
    const sync = new BackgroundSync(fh, 1);
    sync.wrote(10);
    await expect(sync.settle()).rejects.toThrow('I/O error');
    await fh.close();
  });
});
