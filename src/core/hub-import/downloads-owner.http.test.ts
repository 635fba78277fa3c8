import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeHub, startFakeHub } from '../../../test/fixtures/fake-hub/index.js';
import { tinyLlamaGguf } from '../../../test/fixtures/models/gguf.js';
import { tinySafetensors } from '../../../test/fixtures/models/safetensors.js';
import { createTestApp, type TestApp, type TestUser } from '../../../test/helpers/app.js';
import { LocalArtifactStore } from '../artifacts/local.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const ST = tinySafetensors();
const HELD = tinyLlamaGguf({ seed: 11 });
const BIG = tinyLlamaGguf({ width: 128, layers: 2, seed: 12 });
const hubClient = {
  retry: { retries: 3, baseDelayMs: 1, maxDelayMs: 5 },
  idleTimeoutMs: 5_000,
  diskReserveBytes: 0,
};

let hub: FakeHub;
let t: TestApp;
let dev: TestUser;
// The store starts with HELD in it, as a process that died between adopting and registering leaves it.
const store = new LocalArtifactStore(join(mkdtempSync(join(tmpdir(), 'polar-store-')), 'artifacts'));

const start = (u: TestUser, payload: Record<string, unknown>) =>
  t.as(u.token, { method: 'POST', url: '/api/v1/models/download', payload });

/** Polled as the admin: a disabled requester can no longer sign in to watch their own job. */
async function settle(id: string) {
  for (let i = 0; i < 400; i++) {
    const j = (await t.as(t.admin.token, { method: 'GET', url: `/api/v1/models/download/${id}` })).json();
    if (['succeeded', 'failed', 'cancelled'].includes(j.status)) return j;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`job ${id} did not settle`);
}

beforeAll(async () => {
  hub = await startFakeHub([
    { id: 'polar/tiny', files: { 'model.safetensors': ST } },
    { id: 'polar/held', files: { 'config.json': Buffer.from('{"b":2}'), 'held.gguf': HELD } },
    { id: 'polar/big', files: { 'big.gguf': BIG } },
  ]);
  await store.put(Readable.from([HELD]));
  t = await createTestApp({
    env: { POLAR_HF_ENDPOINT: hub.url },
    deps: { hubClient, artifactStore: store },
  });
  dev = await t.user('developer');
});
afterAll(async () => {
  await t?.close();
  await hub?.close();
});

describe('download job requester', () => {
  it("lets an admin import into a developer's existing model", async () => {
    const own = await settle(
      (await start(dev, { model_name: 'polar/tiny', name: 'dev-owned' })).json().job_id,
    );
    expect(own.status, JSON.stringify(own.error)).toBe('succeeded');
    const res = await start(t.admin, { model_name: 'polar/big', model_format: 'gguf', name: 'dev-owned' });
    expect(res.statusCode, res.body).toBe(202);
    const j = await settle(res.json().job_id);
    expect(j.status, JSON.stringify(j.error)).toBe('succeeded');
    expect(j.model_id).toBe(own.model_id);
    expect(j.version).toBe(own.version + 1);
  });

  it('fails the job and registers nothing when the requester is disabled before it finishes', async () => {
    const owner = await t.user('developer');
    hub.faults.chunkDelayMs = 30;
    try {
      const res = await start(owner, { model_name: 'polar/big', model_format: 'gguf', name: 'disabled-big' });
      expect(res.statusCode, res.body).toBe(202);
      const off = await t.as(t.admin.token, {
        method: 'PATCH',
        url: `/api/v1/users/${owner.id}`,
        payload: { disabled: true },
      });
      expect(off.statusCode, off.body).toBe(200);
      const j = await settle(res.json().job_id);
      expect(j.status).toBe('failed');
      expect(j.error.code).toBe('download_owner_inactive');
      const m = await t.as(t.admin.token, { method: 'GET', url: '/api/v1/models/disabled-big' });
      expect(m.statusCode).toBe(404);
    } finally {
      hub.faults.chunkDelayMs = 0;
    }
  });
});

describe('download job after a crash between storing and registering', () => {
  it('takes an LFS file the store already holds without fetching it again', async () => {
    expect(await store.has(sha(HELD))).toBe(true);
    const mark = hub.requests.length;
    const res = await start(dev, { model_name: 'polar/held', model_format: 'gguf', name: 'held' });
    expect(res.statusCode, res.body).toBe(202);
    const j = await settle(res.json().job_id);
    expect(j.status, JSON.stringify(j.error)).toBe('succeeded');
    // The listing was asked for, but no byte of held.gguf.
    expect(hub.requests.length).toBeGreaterThan(mark);
    expect(
      hub.requests.slice(mark).some((r) => r.url.includes('/resolve/') && r.url.includes('held.gguf')),
    ).toBe(false);
    const m = (await t.as(dev.token, { method: 'GET', url: `/api/v1/models/${j.model_id}` })).json();
    const file = m.versions[0].files.find((f: { path: string }) => f.path === 'held.gguf');
    expect(file.sha256).toBe(sha(HELD));
    expect(file.size).toBe(HELD.length);
    const body = await t.as(dev.token, {
      method: 'GET',
      url: `/api/v1/models/${j.model_id}/versions/${j.version}/files/held.gguf`,
    });
    expect(sha(body.rawPayload)).toBe(sha(HELD));
  });
});
