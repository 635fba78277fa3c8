import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectGarbage } from './gc.js';
import { LocalArtifactStore } from './local.js';
import { S3ArtifactStore } from './s3.js';
import type { ArtifactStore } from './store.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const bytes = (n: number, seed = 1) =>
  Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff));

async function* chunks(data: Buffer, size = 1000) {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

/** A source that yields some bytes and then waits forever, like a stalled upload. */
function stalled(first: Buffer): Readable {
  const r = new Readable({ read() {} });
  r.push(first);
  return r;
}

interface Backend {
  name: string;
  setup(): Promise<{
    store: ArtifactStore;
    temporaryCount(): Promise<number>;
    age?(sha: string): Promise<void>;
  }>;
  teardown(): Promise<void>;
}

const dirs: string[] = [];
const tempDir = async () => {
  const d = await mkdtemp(join(tmpdir(), 'polar-artifacts-'));
  dirs.push(d);
  return d;
};

const local: Backend = {
  name: 'local',
  async setup() {
    const root = await tempDir();
    const store = new LocalArtifactStore(root, { maxBytes: 1_000_000 });
    return {
      store,
      temporaryCount: async () => (await readdir(join(root, 'tmp')).catch(() => [])).length,
      async age(s: string) {
        const old = new Date(Date.now() - 48 * 3600_000);
        await utimes(join(root, 'sha256', s.slice(0, 2), s.slice(2, 4), s), old, old);
      },
    };
  },
  async teardown() {},
};

let server: S3rver | undefined;
const s3: Backend = {
  name: 's3 (s3rver on 127.0.0.1)',
  async setup() {
    const directory = await tempDir();
    server = new S3rver({
      address: '127.0.0.1',
      port: 0,
      silent: true,
      directory,
      configureBuckets: [{ name: 'polar' }],
    });
    const { port } = await server.run();
    const client = new S3Client({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    const store = new S3ArtifactStore({ client, bucket: 'polar', prefix: 'p/', maxBytes: 1_000_000 });
    return {
      store,
      async temporaryCount() {
        let n = 0;
        for await (const _ of (store as unknown as { objects(p: string): AsyncIterable<unknown> }).objects(
          'p/tmp/',
        ))
          n++;
        return n;
      },
    };
  },
  async teardown() {
    await server?.close();
  },
};

afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe.each([local, s3])('ArtifactStore: $name', (backend) => {
  let store: ArtifactStore;
  let temporaryCount: () => Promise<number>;
  let age: ((sha: string) => Promise<void>) | undefined;
  beforeAll(async () => {
    ({ store, temporaryCount, age } = await backend.setup());
  });
  afterAll(() => backend.teardown());

  it('stores content under its sha256 and reads it back', async () => {
    const data = bytes(12_345);
    const put = await store.put(chunks(data));
    expect(put).toEqual({ sha256: sha(data), size: data.length, created: true });
    expect(await store.has(put.sha256)).toBe(true);
    expect(await store.stat(put.sha256)).toMatchObject({ sha256: put.sha256, size: data.length });
    expect(await buffer(await store.open(put.sha256))).toEqual(data);
    expect(await temporaryCount()).toBe(0);
  });

  it('stores identical content once', async () => {
    const data = bytes(500, 7);
    const a = await store.put(Readable.from([data]));
    const b = await store.put(chunks(data, 7));
    expect(a).toEqual({ ...b, created: true });
    expect(b.created).toBe(false);
    const listed = [];
    for await (const i of store.list()) if (i.sha256 === a.sha256) listed.push(i);
    expect(listed).toHaveLength(1);
  });

  it('stores an empty blob', async () => {
    const put = await store.put(Readable.from([]));
    expect(put).toMatchObject({ sha256: sha(Buffer.alloc(0)), size: 0 });
    expect((await buffer(await store.open(put.sha256))).length).toBe(0);
  });

  it('serves inclusive byte ranges', async () => {
    const data = bytes(1000, 3);
    const { sha256 } = await store.put(Readable.from([data]));
    expect(await buffer(await store.open(sha256, { start: 10, end: 19 }))).toEqual(data.subarray(10, 20));
    expect(await buffer(await store.open(sha256, { start: 990 }))).toEqual(data.subarray(990));
    expect(await buffer(await store.open(sha256, { start: 0, end: 0 }))).toEqual(data.subarray(0, 1));
    await expect(store.open(sha256, { start: 1000 })).rejects.toMatchObject({
      code: 'range_not_satisfiable',
    });
    await expect(store.open(sha256, { start: 5, end: 4 })).rejects.toMatchObject({ status: 416 });
    await expect(store.open(sha256, { start: -1 })).rejects.toMatchObject({ status: 416 });
  });

  it('refuses an upload over the limit with artifact_too_large and leaves nothing behind', async () => {
    const data = bytes(1_000_001, 9);
    await expect(store.put(chunks(data, 65536))).rejects.toMatchObject({
      code: 'artifact_too_large',
      status: 413,
    });
    await expect(store.put(Readable.from([bytes(200)]), { maxBytes: 100 })).rejects.toMatchObject({
      code: 'artifact_too_large',
    });
    expect(await store.has(sha(data))).toBe(false);
    expect(await temporaryCount()).toBe(0);
  });

  it('refuses content whose sha256 differs from the expected one, publishing nothing', async () => {
    const data = bytes(300, 11);
    await expect(store.put(Readable.from([data]), { expectedSha256: 'a'.repeat(64) })).rejects.toMatchObject({
      code: 'artifact_checksum_mismatch',
    });
    expect(await store.has(sha(data))).toBe(false);
    expect(await temporaryCount()).toBe(0);
    expect(await store.put(Readable.from([data]), { expectedSha256: sha(data) })).toMatchObject({
      size: 300,
    });
  });

  it('cleans up when the source fails or the upload is aborted', async () => {
    async function* failing() {
      yield bytes(100);
      throw new Error('connection reset');
    }
    await expect(store.put(failing())).rejects.toThrow('connection reset');
    const ac = new AbortController();
    const pending = store.put(stalled(bytes(100, 5)), { signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    expect(await temporaryCount()).toBe(0);
  });

  it('answers not found and refuses malformed digests', async () => {
    const absent = 'f'.repeat(64);
    expect(await store.has(absent)).toBe(false);
    expect(await store.stat(absent)).toBeNull();
    await expect(store.open(absent)).rejects.toMatchObject({ code: 'artifact_not_found', status: 404 });
    expect(await store.delete(absent)).toBe(false);
    for (const bad of ['../../etc/passwd', 'F'.repeat(64), 'a'.repeat(63)]) {
      await expect(store.has(bad)).rejects.toMatchObject({ code: 'invalid_sha256' });
    }
  });

  it('deletes a blob', async () => {
    const { sha256 } = await store.put(Readable.from([bytes(64, 13)]));
    expect(await store.delete(sha256)).toBe(true);
    expect(await store.has(sha256)).toBe(false);
  });

  it('collects unreferenced blobs older than the grace period only', async () => {
    const kept = await store.put(Readable.from([bytes(10, 21)]));
    const dropped = await store.put(Readable.from([bytes(20, 22)]));
    const recent = await store.put(Readable.from([bytes(30, 23)]));
    const referenced = new Set([kept.sha256]);
    if (age) {
      await age(kept.sha256);
      await age(dropped.sha256);
    }
    // Without a way to age S3 objects, "now" moves forward instead, past everything.
    const now = age ? new Date() : new Date(Date.now() + 48 * 3600_000);
    const result = await collectGarbage(store, referenced, { graceMs: 24 * 3600_000, now });
    expect(result.deleted).toContain(dropped.sha256);
    expect(result.deleted).not.toContain(kept.sha256);
    expect(await store.has(kept.sha256)).toBe(true);
    expect(await store.has(dropped.sha256)).toBe(false);
    expect(await store.has(recent.sha256)).toBe(!!age);
    expect(result.freedBytes).toBeGreaterThanOrEqual(20);
  });
});

describe.each([local, s3])('ArtifactStore.adopt: $name', (backend) => {
  let store: ArtifactStore;
  let dir: string;
  beforeAll(async () => {
    ({ store } = await backend.setup());
    dir = await tempDir();
  });
  afterAll(() => backend.teardown());

  const file = async (data: Buffer, name = randomUUID()) => {
    const path = join(dir, name);
    await writeFile(path, data);
    return path;
  };
  const exists = (path: string) =>
    stat(path).then(
      () => true,
      () => false,
    );

  it('stores a file under its verified sha256 and takes the file away', async () => {
    const data = bytes(5000, 31);
    const path = await file(data);
    const got = await store.adopt(path, { verifiedSha256: sha(data), size: data.length });
    expect(got).toEqual({ sha256: sha(data), size: data.length });
    expect(await buffer(await store.open(sha(data)))).toEqual(data);
    expect(await exists(path)).toBe(false);
  });

  it('deletes the file when the blob already exists and keeps the blob', async () => {
    const data = bytes(3000, 32);
    await store.put(Readable.from([data]));
    const path = await file(data);
    expect(await store.adopt(path, { verifiedSha256: sha(data), size: data.length })).toEqual({
      sha256: sha(data),
      size: data.length,
    });
    expect(await exists(path)).toBe(false);
    expect(await buffer(await store.open(sha(data)))).toEqual(data);
  });

  it('refuses a file whose size differs and leaves it in place, publishing nothing', async () => {
    const data = bytes(2000, 33);
    const path = await file(data);
    await expect(store.adopt(path, { verifiedSha256: sha(data), size: 1999 })).rejects.toMatchObject({
      code: 'artifact_size_mismatch',
    });
    expect(await exists(path)).toBe(true);
    expect(await store.has(sha(data))).toBe(false);
  });

  it('refuses a malformed digest', async () => {
    const path = await file(bytes(10, 34));
    await expect(store.adopt(path, { verifiedSha256: 'nope', size: 10 })).rejects.toMatchObject({
      code: 'invalid_sha256',
    });
  });
});

describe('LocalArtifactStore.adopt', () => {
  it('renames within one file system: the blob is the very file, not a copy', async () => {
    const root = await tempDir();
    const store = new LocalArtifactStore(root);
    const data = bytes(4096, 41);
    const path = join(root, 'downloaded');
    await writeFile(path, data);
    const { ino } = await stat(path);
    await store.adopt(path, { verifiedSha256: sha(data), size: data.length });
    const s = sha(data);
    expect((await stat(join(root, 'sha256', s.slice(0, 2), s.slice(2, 4), s))).ino).toBe(ino);
  });

  it('streams and hashes the file when it sits on another file system', async () => {
    const root = await tempDir();
    const exdev = () => Promise.reject(Object.assign(new Error('cross-device link'), { code: 'EXDEV' }));
    const store = new LocalArtifactStore(root, { rename: exdev });
    const data = bytes(4096, 42);
    const path = join(await tempDir(), 'downloaded');
    await writeFile(path, data);
    const { ino } = await stat(path);
    const s = sha(data);
    expect(await store.adopt(path, { verifiedSha256: s, size: data.length })).toEqual({
      sha256: s,
      size: data.length,
    });
    const blob = await stat(join(root, 'sha256', s.slice(0, 2), s.slice(2, 4), s));
    expect(blob.ino).not.toBe(ino);
    expect(await buffer(await store.open(s))).toEqual(data);
    await expect(stat(path)).rejects.toMatchObject({ code: 'ENOENT' });

    // On that path the content is hashed again: a wrong "verified" digest is caught, not published.
    const other = join(await tempDir(), 'other');
    await writeFile(other, bytes(4096, 43));
    await expect(
      store.adopt(other, { verifiedSha256: s.replace(/^./, s[0] === 'a' ? 'b' : 'a'), size: 4096 }),
    ).rejects.toMatchObject({
      code: 'artifact_checksum_mismatch',
    });
  });
});
