import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeGguf } from '../../../test/fixtures/models/gguf.js';
import { tinyOnnxClassifier } from '../../../test/fixtures/models/onnx.js';
import { legacyTorchPickle, torchZipCheckpoint } from '../../../test/fixtures/models/pickle.js';
import { tinySafetensors } from '../../../test/fixtures/models/safetensors.js';
import { createTestApp, type TestApp, type TestUser } from '../../../test/helpers/app.js';
import { multipart } from '../../../test/helpers/multipart.js';

let t: TestApp;
let dev: TestUser;
let other: TestUser;
let plain: TestUser;

const LIMIT = 64 * 1024;

beforeAll(async () => {
  t = await createTestApp({ env: { POLAR_MAX_UPLOAD_BYTES: String(LIMIT) } });
  dev = await t.user('developer');
  other = await t.user('developer');
  plain = await t.user('user');
});
afterAll(async () => t?.close());

/** A small valid GGUF whose bytes differ with `tag`. */
const gguf = (tag = 'x') => writeGguf([['general.name', { t: 'string', v: tag }]], []);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const blobCount = () => {
  const dir = join(t.dataDir, 'artifacts');
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true }).filter(
      (e) => e.isFile() && /^[0-9a-f]{64}$/.test(e.name),
    ).length;
  } catch {
    return 0;
  }
};

let n = 0;
async function model(owner: TestUser, body: Record<string, unknown> = {}) {
  const res = await t.as(owner.token, {
    method: 'POST',
    url: '/api/v1/models',
    payload: { name: `m-${++n}-${Math.random().toString(36).slice(2, 6)}`, task: 'chat', ...body },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: string; name: string };
}
const upload = (owner: TestUser, id: string, parts: Parameters<typeof multipart>[0]) =>
  t.as(owner.token, { method: 'POST', url: `/api/v1/models/${id}/versions`, ...multipart(parts) });

describe('models', () => {
  it('creates, lists, searches, gets by id or name, updates and deletes', async () => {
    const m = await model(dev, { description: 'a tiny helper', tags: ['tiny', 'demo'] });
    const dup = await t.as(dev.token, {
      method: 'POST',
      url: '/api/v1/models',
      payload: { name: m.name.toUpperCase(), task: 'chat' },
    });
    expect(dup.statusCode).toBe(409);
    expect(dup.json().code).toBe('model_name_taken');
    const bad = await t.as(dev.token, {
      method: 'POST',
      url: '/api/v1/models',
      payload: { name: '../x', task: 'chat' },
    });
    expect(bad.statusCode).toBe(400);

    const byName = await t.as(plain.token, { method: 'GET', url: `/api/v1/models/${m.name}` });
    expect(byName.json()).toMatchObject({ id: m.id, status: 'available', versions: [], aliases: {} });
    const list = await t.as(plain.token, {
      method: 'GET',
      url: '/api/v1/models?search=tiny%20help&tag=demo&task=chat',
    });
    expect(list.json().items.map((i: { id: string }) => i.id)).toEqual([m.id]);

    const forbidden = await t.as(other.token, {
      method: 'PATCH',
      url: `/api/v1/models/${m.id}`,
      payload: { description: 'x' },
    });
    expect(forbidden.statusCode).toBe(403);
    const patched = await t.as(dev.token, {
      method: 'PATCH',
      url: `/api/v1/models/${m.id}`,
      payload: { description: 'new' },
    });
    expect(patched.json().description).toBe('new');
    const del = await t.as(t.admin.token, { method: 'DELETE', url: `/api/v1/models/${m.id}` });
    expect(del.statusCode).toBe(200);
    expect((await t.as(dev.token, { method: 'GET', url: `/api/v1/models/${m.id}` })).statusCode).toBe(404);
  });

  it("hides another user's private model as not found, and shows it to its owner and admins", async () => {
    const m = await model(dev, { visibility: 'private' });
    for (const u of [other, plain]) {
      const res = await t.as(u.token, { method: 'GET', url: `/api/v1/models/${m.id}` });
      expect(res.statusCode).toBe(404);
      expect(res.json().code).toBe('model_not_found');
      const list = await t.as(u.token, { method: 'GET', url: '/api/v1/models?limit=200' });
      expect(list.json().items.some((i: { id: string }) => i.id === m.id)).toBe(false);
    }
    const up = await upload(other, m.id, [{ file: 'a.gguf', data: gguf() }]);
    expect(up.statusCode).toBe(404);
    expect((await t.as(dev.token, { method: 'GET', url: `/api/v1/models/${m.id}` })).statusCode).toBe(200);
    expect((await t.as(t.admin.token, { method: 'GET', url: `/api/v1/models/${m.id}` })).statusCode).toBe(
      200,
    );
  });

  it('pages with a cursor', async () => {
    const tag = `page${Math.random().toString(36).slice(2, 6)}`;
    for (let i = 0; i < 3; i++) await model(dev, { tags: [tag] });
    const first = (await t.as(dev.token, { method: 'GET', url: `/api/v1/models?tag=${tag}&limit=2` })).json();
    expect(first.items).toHaveLength(2);
    const second = (
      await t.as(dev.token, {
        method: 'GET',
        url: `/api/v1/models?tag=${tag}&limit=2&cursor=${first.next_cursor}`,
      })
    ).json();
    expect(second.items).toHaveLength(1);
    expect(second.next_cursor).toBeNull();
  });
});

describe('versions', () => {
  it('stores uploaded files with their sha256, detects the format from content and serves Range reads', async () => {
    const m = await model(dev);
    const weights = tinySafetensors();
    const res = await upload(dev, m.id, [
      { file: 'weights.bin', data: weights },
      { file: 'sub/config.json', data: Buffer.from('{"a":1}') },
      { field: 'lineage', value: JSON.stringify({ dataset_version: 'd1', job_id: 'j1' }) },
      { field: 'metrics', value: JSON.stringify({ accuracy: 0.9 }) },
      { field: 'source', value: 'training' },
    ]);
    expect(res.statusCode, res.body).toBe(201);
    const v = res.json();
    expect(v).toMatchObject({
      version: 1,
      format: 'safetensors',
      source: 'training',
      metrics: { accuracy: 0.9 },
    });
    expect(v.lineage).toEqual({ dataset_version: 'd1', job_id: 'j1' });
    expect(v.files.find((f: { path: string }) => f.path === 'weights.bin')).toEqual({
      path: 'weights.bin',
      size: weights.length,
      sha256: sha(weights),
    });

    const url = `/api/v1/models/${m.id}/versions/1/files/weights.bin`;
    const whole = await t.as(plain.token, { method: 'GET', url });
    expect(whole.statusCode).toBe(200);
    expect(whole.rawPayload.equals(weights)).toBe(true);
    expect(whole.headers['content-length']).toBe(String(weights.length));
    expect(whole.headers.etag).toBe(`"${sha(weights)}"`);
    expect(whole.headers['accept-ranges']).toBe('bytes');
    const part = await t.as(plain.token, { method: 'GET', url, headers: { range: 'bytes=8-15' } });
    expect(part.statusCode).toBe(206);
    expect(part.headers['content-range']).toBe(`bytes 8-15/${weights.length}`);
    expect(part.rawPayload.equals(weights.subarray(8, 16))).toBe(true);
    const tail = await t.as(plain.token, { method: 'GET', url, headers: { range: 'bytes=-4' } });
    expect(tail.rawPayload.equals(weights.subarray(-4))).toBe(true);
    const out = await t.as(plain.token, {
      method: 'GET',
      url,
      headers: { range: `bytes=${weights.length}-` },
    });
    expect(out.statusCode).toBe(416);
    const nested = await t.as(plain.token, {
      method: 'GET',
      url: `/api/v1/models/${m.id}/versions/1/files/sub/config.json`,
    });
    expect(nested.body).toBe('{"a":1}');
    expect(
      (await t.as(plain.token, { method: 'GET', url: `/api/v1/models/${m.id}/versions/1/files/nope` }))
        .statusCode,
    ).toBe(404);

    const second = await upload(dev, m.id, [{ file: 'model.gguf', data: gguf() }]);
    expect(second.json()).toMatchObject({ version: 2, format: 'gguf' });
    const detail = (await t.as(plain.token, { method: 'GET', url: `/api/v1/models/${m.id}` })).json();
    expect(detail.versions.map((x: { version: number }) => x.version)).toEqual([1, 2]);
    const listed = (
      await t.as(plain.token, { method: 'GET', url: `/api/v1/models?search=${m.name}` })
    ).json();
    expect(listed.items[0]).toMatchObject({ versions_count: 2, latest_version: 2, format: 'gguf' });
  });

  it('refuses an unsafe file name before writing a byte, an oversized upload with 413, and pickles', async () => {
    const m = await model(dev);
    const before = blobCount();
    for (const name of ['../escape.gguf', '/etc/passwd', 'a\\\\b.gguf', '%2e%2e/x.gguf']) {
      const res = await upload(dev, m.id, [{ file: name, data: gguf() }]);
      expect(res.statusCode, name).toBe(400);
      expect(res.json().code, name).toBe('unsafe_path');
    }
    const big = await upload(dev, m.id, [
      { file: 'big.gguf', data: Buffer.concat([gguf(), Buffer.alloc(LIMIT)]) },
    ]);
    expect(big.statusCode).toBe(413);
    const pk = await upload(dev, m.id, [{ file: 'model.safetensors', data: torchZipCheckpoint() }]);
    expect(pk.statusCode).toBe(400);
    expect(pk.json().code).toBe('pickle_refused');
    const asked = await upload(dev, m.id, [
      { field: 'allow_pickle', value: 'true' },
      { file: 'pytorch_model.bin', data: legacyTorchPickle() },
    ]);
    expect(asked.json().code).toBe('pickle_refused');
    expect(blobCount()).toBe(before);

    // No number was used by the refused uploads.
    const ok = await upload(dev, m.id, [{ file: 'ok.gguf', data: gguf() }]);
    expect(ok.json().version).toBe(1);

    const setting = await t.as(t.admin.token, {
      method: 'PUT',
      url: '/api/v1/settings/registry/storage',
      payload: { allow_pickle_storage: true },
    });
    expect(setting.statusCode, setting.body).toBeLessThan(300);
    const allowed = await upload(dev, m.id, [
      { field: 'allow_pickle', value: 'true' },
      { file: 'pytorch_model.bin', data: legacyTorchPickle() },
    ]);
    expect(allowed.json()).toMatchObject({ version: 2, format: 'pytorch' });
  });

  it('validates weights by content: a broken header is 422 and leaves no blob; ONNX with a config is hf-onnx', async () => {
    const m = await model(dev);
    const before = blobCount();
    const truncated = gguf('broken').subarray(0, 20);
    const res = await upload(dev, m.id, [{ file: 'model.gguf', data: truncated }]);
    expect(res.statusCode).toBe(422);
    expect(res.json().code).toBe('invalid_model_file');
    expect(blobCount()).toBe(before);
    const onnx = await upload(dev, m.id, [
      { file: 'config.json', data: Buffer.from('{}') },
      { file: 'onnx/model.onnx', data: tinyOnnxClassifier() },
    ]);
    expect(onnx.json()).toMatchObject({ version: 1, format: 'hf-onnx' });
    const pickleAsSafetensors = await upload(dev, m.id, [
      { file: 'model.safetensors', data: legacyTorchPickle() },
    ]);
    expect(pickleAsSafetensors.json().code).toBe('pickle_refused');
  });

  it('registers external versions and refuses a body that is neither', async () => {
    const m = await model(dev);
    const res = await t.as(dev.token, {
      method: 'POST',
      url: `/api/v1/models/${m.id}/versions`,
      payload: { external: { provider: 'openai', model: 'gpt-4o-mini' } },
    });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({
      version: 1,
      format: 'external',
      files: [],
      external: { provider: 'openai' },
    });
    const bad = await t.as(dev.token, {
      method: 'POST',
      url: `/api/v1/models/${m.id}/versions`,
      payload: { x: 1 },
    });
    expect(bad.statusCode).toBe(400);
    const user = await t.as(plain.token, {
      method: 'POST',
      url: `/api/v1/models/${m.id}/versions`,
      payload: {},
    });
    expect(user.statusCode).toBe(403);
  });
});

describe('aliases', () => {
  it('moves, records history, rolls back, refuses retired versions and conflicting moves', async () => {
    const m = await model(dev);
    for (let i = 0; i < 3; i++) await upload(dev, m.id, [{ file: `v${i}.gguf`, data: gguf(`v${i}`) }]);
    const put = (alias: string, body: Record<string, unknown>, who = dev) =>
      t.as(who.token, { method: 'PUT', url: `/api/v1/models/${m.id}/aliases/${alias}`, payload: body });

    expect((await put('production', { version: 1, reason: 'first' })).json()).toMatchObject({
      version: 1,
      previous_version: null,
    });
    expect((await put('production', { version: 2, reason: 'better' })).json()).toMatchObject({
      version: 2,
      previous_version: 1,
    });
    const stale = await put('production', { version: 3, expected_version: 1 });
    expect(stale.statusCode).toBe(409);
    expect(stale.json().code).toBe('alias_conflict');
    expect((await put('production', { version: 9 })).statusCode).toBe(404);
    expect((await put('Bad_Alias', { version: 1 })).statusCode).toBe(400);

    const rb = await t.as(dev.token, {
      method: 'POST',
      url: `/api/v1/models/${m.id}/aliases/production/rollback`,
      payload: {},
    });
    expect(rb.json()).toMatchObject({ version: 1, previous_version: 2 });
    const history = (
      await t.as(plain.token, { method: 'GET', url: `/api/v1/models/${m.id}/aliases/production/history` })
    ).json();
    expect(
      history.items.map((h: { from_version: number | null; to_version: number }) => [
        h.from_version,
        h.to_version,
      ]),
    ).toEqual([
      [2, 1],
      [1, 2],
      [null, 1],
    ]);
    expect(history.items[2]).toMatchObject({ reason: 'first', actor_name: dev.username });

    const retire = await t.as(dev.token, {
      method: 'POST',
      url: `/api/v1/models/${m.id}/versions/3/retire`,
      payload: {},
    });
    expect(retire.json().status).toBe('retired');
    const refused = await put('staging', { version: 3 });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().code).toBe('version_retired');

    const promote = await t.as(dev.token, {
      method: 'POST',
      url: `/api/v1/models/${m.id}/promote`,
      payload: { version: 2, stage: 'staging' },
    });
    expect(promote.json()).toMatchObject({ alias: 'staging', version: 2 });
    const seedRetire = await t.as(dev.token, {
      method: 'POST',
      url: `/api/v1/models/${m.id}/retire`,
      payload: { version: 1 },
    });
    expect(seedRetire.json()).toMatchObject({ version: 1, status: 'retired' });
    const detail = (await t.as(plain.token, { method: 'GET', url: `/api/v1/models/${m.id}` })).json();
    expect(detail.aliases).toEqual({ production: 1, staging: 2 });

    expect((await put('staging', { version: 2 }, other)).statusCode).toBe(403);
    const del = await t.as(dev.token, { method: 'DELETE', url: `/api/v1/models/${m.id}/aliases/staging` });
    expect(del.json()).toMatchObject({ version: null, previous_version: 2 });
    expect(
      (await t.as(dev.token, { method: 'DELETE', url: `/api/v1/models/${m.id}/aliases/staging` })).statusCode,
    ).toBe(404);
  });
});

describe('deletion and garbage collection', () => {
  it('frees only blobs no other version references', async () => {
    const shared = gguf('shared');
    const own = gguf('own');
    const a = await model(dev);
    const b = await model(dev);
    await upload(dev, a.id, [
      { file: 'm.gguf', data: shared },
      { file: 'x.gguf', data: own },
    ]);
    await upload(dev, b.id, [{ file: 'm.gguf', data: shared }]);
    const del = await t.as(dev.token, { method: 'DELETE', url: `/api/v1/models/${a.id}` });
    expect(del.json().blobs_freed).toBe(1);
    const still = await t.as(dev.token, {
      method: 'GET',
      url: `/api/v1/models/${b.id}/versions/1/files/m.gguf`,
    });
    expect(still.rawPayload.equals(shared)).toBe(true);
    expect(await t.app.services.registry.store.has(sha(own))).toBe(false);

    const cleanup = await t.as(t.admin.token, {
      method: 'POST',
      url: '/api/v1/admin/cleanup',
      payload: { operations: ['clean_models'] },
    });
    expect(cleanup.statusCode, cleanup.body).toBe(200);
    expect(cleanup.json().operations_completed).toContain('clean_models');
    const gc = await t.app.services.registry.collectGarbage({ graceMs: 0 });
    expect(gc.deleted).not.toContain(sha(shared));
    expect(await t.app.services.registry.store.has(sha(shared))).toBe(true);
  });
});
