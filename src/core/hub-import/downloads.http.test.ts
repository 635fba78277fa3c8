import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOKEN } from '../../../test/fixtures/fake-hub/harness.js';
import { type FakeHub, startFakeHub } from '../../../test/fixtures/fake-hub/index.js';
import { tinyLlamaGguf } from '../../../test/fixtures/models/gguf.js';
import { legacyTorchPickle } from '../../../test/fixtures/models/pickle.js';
import { tinySafetensors } from '../../../test/fixtures/models/safetensors.js';
import { createTestApp, type TestApp, type TestUser } from '../../../test/helpers/app.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const ST = tinySafetensors();
const Q4 = tinyLlamaGguf({ seed: 1 });
const Q8 = tinyLlamaGguf({ seed: 2 });
const BIG = tinyLlamaGguf({ width: 128, layers: 2, seed: 3 });
const hubClient = {
  retry: { retries: 3, baseDelayMs: 1, maxDelayMs: 5 },
  idleTimeoutMs: 5_000,
  diskReserveBytes: 0,
};

let hub: FakeHub;
let t: TestApp;
let dev: TestUser;
const masterKey = randomBytes(32);

const app = (extra: { env?: Record<string, string>; database?: TestApp['database'] } = {}) =>
  createTestApp({
    env: { POLAR_HF_ENDPOINT: hub.url, ...extra.env },
    deps: { hubClient, masterKey, ...(extra.database ? { database: extra.database } : {}) },
  });

const start = (u: TestUser, payload: Record<string, unknown>, on = t) =>
  on.as(u.token, { method: 'POST', url: '/api/v1/models/download', payload });
const job = (u: TestUser, id: string, on = t) =>
  on.as(u.token, { method: 'GET', url: `/api/v1/models/download/${id}` });

async function until(u: TestUser, id: string, done: (j: { status: string }) => boolean, on = t) {
  for (let i = 0; i < 400; i++) {
    const j = (await job(u, id, on)).json();
    if (done(j)) return j;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`job ${id} did not settle`);
}
const settled = (j: { status: string }) => ['succeeded', 'failed', 'cancelled'].includes(j.status);

beforeAll(async () => {
  hub = await startFakeHub([
    { id: 'polar/tiny', files: { 'config.json': Buffer.from('{"a":1}'), 'model.safetensors': ST } },
    { id: 'polar/quant', files: { 'm-Q4_K_M.gguf': Q4, 'm-Q8_0.gguf': Q8 } },
    { id: 'polar/secret', private: true, tokens: [TOKEN], files: { 'model.safetensors': ST } },
    { id: 'polar/big', files: { 'big.gguf': BIG } },
    { id: 'polar/pickle', files: { 'pytorch_model.bin': legacyTorchPickle() } },
    { id: 'polar/evil', files: { '../../evil.safetensors': ST } },
  ]);
  t = await app();
  dev = await t.user('developer');
});
afterAll(async () => {
  await t?.close();
  await hub?.close();
});

describe('POST /api/v1/models/download', () => {
  it('imports a repo into one registry version with the right sha256 and downloadable content', async () => {
    const res = await start(dev, { model_name: 'polar/tiny', task: 'other' });
    expect(res.statusCode, res.body).toBe(202);
    const j = await until(dev, res.json().job_id, settled);
    expect(j.status, JSON.stringify(j)).toBe('succeeded');
    expect(j.download_progress).toBe(100);
    const m = (await t.as(dev.token, { method: 'GET', url: `/api/v1/models/${j.model_id}` })).json();
    expect(m.name).toBe('polar--tiny');
    expect(m.versions).toHaveLength(1);
    const v = m.versions[0];
    expect(v.source).toMatch(/^hf:polar\/tiny@[0-9a-f]{40}$/);
    expect(v.lineage.job_id).toBe(j.job_id);
    expect(v.files.find((f: { path: string }) => f.path === 'model.safetensors').sha256).toBe(sha(ST));
    const file = await t.as(dev.token, {
      method: 'GET',
      url: `/api/v1/models/${j.model_id}/versions/${j.version}/files/model.safetensors`,
    });
    expect(file.statusCode).toBe(200);
    expect(sha(file.rawPayload)).toBe(sha(ST));
  });

  it('selects one GGUF quantisation by glob', async () => {
    const res = await start(dev, {
      model_name: 'polar/quant',
      model_format: 'gguf',
      files: ['*Q4_K_M.gguf'],
    });
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json().files.map((f: { path: string }) => f.path)).toEqual(['m-Q4_K_M.gguf']);
    const j = await until(dev, res.json().job_id, settled);
    expect(j.status, JSON.stringify(j.error)).toBe('succeeded');
  });

  it('shares one job between identical concurrent requests', async () => {
    hub.faults.chunkDelayMs = 5;
    try {
      const body = { model_name: 'polar/big', model_format: 'gguf', name: 'shared-big' };
      const [a, b] = await Promise.all([start(dev, body), start(dev, body)]);
      expect(a.statusCode).toBe(202);
      expect(b.json().job_id).toBe(a.json().job_id);
      await until(dev, a.json().job_id, settled);
    } finally {
      hub.faults.chunkDelayMs = 0;
    }
  });

  it('uses a private repo token without ever showing it', async () => {
    const res = await start(dev, { model_name: 'polar/secret', auth_token: TOKEN });
    expect(res.statusCode, res.body).toBe(202);
    const j = await until(dev, res.json().job_id, settled);
    expect(j.status).toBe('succeeded');
    const list = await t.as(dev.token, { method: 'GET', url: '/api/v1/models/download' });
    const events = await t.as(t.admin.token, { method: 'GET', url: '/api/v1/events?topic=models&limit=200' });
    const audit = await t.as(t.admin.token, { method: 'GET', url: '/api/v1/audit?limit=200' });
    for (const text of [res.body, JSON.stringify(j), list.body, events.body, audit.body, t.logs.join('\n')])
      expect(text).not.toContain(TOKEN);
    const { modelDownloads } = await import('../tables.js');
    const rows = await t.database.db.select().from(modelDownloads);
    expect(rows.every((r) => r.tokenSealed === null)).toBe(true);
  });

  it('resumes a file when the connection dies mid-way', async () => {
    hub.faults.dieAfter = { bytes: 20_000, times: 1 };
    const res = await start(dev, { model_name: 'polar/big', model_format: 'gguf', name: 'resumed-big' });
    const j = await until(dev, res.json().job_id, settled);
    expect(j.status, JSON.stringify(j.error)).toBe('succeeded');
    expect(hub.requests.some((r) => r.range?.startsWith('bytes=') && r.range !== 'bytes=0-')).toBe(true);
  });

  it('cancels within a second and removes partial files', async () => {
    hub.faults.chunkDelayMs = 100;
    try {
      const res = await start(dev, { model_name: 'polar/big', model_format: 'gguf', name: 'cancelled-big' });
      const id = res.json().job_id;
      await until(dev, id, (j) => j.status === 'downloading');
      const began = Date.now();
      const c = await t.as(dev.token, { method: 'POST', url: `/api/v1/models/download/${id}/cancel` });
      expect(c.statusCode, c.body).toBe(200);
      expect(c.json().status).toBe('cancelled');
      expect(Date.now() - began).toBeLessThan(1000);
      const { existsSync } = await import('node:fs');
      expect(existsSync(`${t.dataDir}/downloads/${id}`)).toBe(false);
      const again = await t.as(dev.token, { method: 'POST', url: `/api/v1/models/download/${id}/cancel` });
      expect(again.json().status).toBe('cancelled');
    } finally {
      hub.faults.chunkDelayMs = 0;
    }
  });

  it('fails corrupted content with a clear error and registers nothing', async () => {
    hub.faults.corrupt = true;
    try {
      const res = await start(dev, { model_name: 'polar/quant', model_format: 'gguf', name: 'corrupt' });
      const j = await until(dev, res.json().job_id, settled);
      expect(j.status).toBe('failed');
      expect(j.error.code).toBe('download_verification_failed');
      const m = await t.as(dev.token, { method: 'GET', url: '/api/v1/models/corrupt' });
      expect(m.statusCode).toBe(404);
      const c = await t.as(dev.token, { method: 'POST', url: `/api/v1/models/download/${j.job_id}/cancel` });
      expect(c.statusCode).toBe(409);
    } finally {
      hub.faults.corrupt = false;
    }
  });

  it('refuses hostile file names and pickle weights before any byte is written', async () => {
    const before = hub.requests.length;
    const evil = await start(dev, { model_name: 'polar/evil' });
    expect(evil.statusCode).toBeGreaterThanOrEqual(400);
    expect(evil.statusCode).toBeLessThan(500);
    expect(evil.json().code).toBe('unsafe_path');
    const pickle = await start(dev, { model_name: 'polar/pickle', model_format: 'pytorch' });
    expect(pickle.statusCode).toBe(422);
    expect(pickle.json().code).toBe('pickle_refused');
    expect(hub.requests.slice(before).some((r) => r.url.includes('/resolve/'))).toBe(false);
  });

  it("answers 404 for another user's job and lists only one's own", async () => {
    const other = await t.user('developer');
    const res = await start(dev, { model_name: 'polar/quant', model_format: 'gguf', files: ['*Q8_0.gguf'] });
    expect((await job(other, res.json().job_id)).statusCode).toBe(404);
    const cancel = await t.as(other.token, {
      method: 'POST',
      url: `/api/v1/models/download/${res.json().job_id}/cancel`,
    });
    expect(cancel.statusCode).toBe(404);
    const list = await t.as(other.token, { method: 'GET', url: '/api/v1/models/download' });
    expect(list.json().items).toEqual([]);
    expect((await job(t.admin, res.json().job_id)).statusCode).toBe(200);
    const user = await t.user('user');
    expect((await start(user, { model_name: 'polar/quant' })).statusCode).toBe(403);
  });
});

describe('restart', () => {
  it('resumes a job left by a closed app, asking only for the remaining bytes', async () => {
    const first = await app();
    const owner = await first.user('developer');
    hub.faults.chunkDelayMs = 30;
    const res = await start(
      owner,
      { model_name: 'polar/big', model_format: 'gguf', name: 'restart-big' },
      first,
    );
    const id = res.json().job_id;
    await until(
      owner,
      id,
      (j: { status: string; bytes_done?: number }) => (j.bytes_done ?? 0) > 50_000,
      first,
    );
    await first.app.close();
    hub.faults.chunkDelayMs = 0;
    const mark = hub.requests.length;
    const second = await app({ env: { POLAR_DATA_DIR: first.dataDir }, database: first.database });
    try {
      const token = await second.login(owner.username, owner.password);
      const j = await until({ ...owner, token }, id, settled, second);
      expect(j.status, JSON.stringify(j.error)).toBe('succeeded');
      const ranges = hub.requests.slice(mark).filter((r) => r.range && r.range !== 'bytes=0-0');
      expect(ranges.length).toBeGreaterThan(0);
      const from = Number(/bytes=(\d+)-/.exec(ranges[0]!.range!)![1]);
      expect(from).toBeGreaterThan(50_000);
    } finally {
      await second.app.close();
      await first.database.close();
    }
  });
});
