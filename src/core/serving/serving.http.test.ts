import { readdirSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp, type TestUser } from '../../../test/helpers/app.js';
import { addVersion, modelWithVersion, SCRIPTED_RUNTIME } from '../../../test/helpers/serving.js';

let t: TestApp;
let dev: TestUser;
let other: TestUser;
let plain: TestUser;

beforeAll(async () => {
  t = await createTestApp({ deps: { runtimes: [SCRIPTED_RUNTIME] } });
  dev = await t.user('developer');
  other = await t.user('developer');
  plain = await t.user('user');
});
afterAll(async () => t?.close());

const post = (who: TestUser | { token: string }, url: string, payload: object = {}) =>
  t.as(who.token, { method: 'POST', url, payload });
const runtime = async () => (await t.as(t.admin.token, { method: 'GET', url: '/api/v1/runtime' })).json();
const policy = async (values: Record<string, unknown>) => {
  const res = await t.as(t.admin.token, {
    method: 'PUT',
    url: '/api/v1/settings/serving/runtime',
    payload: values,
  });
  expect(res.statusCode, res.body).toBeLessThan(300);
};
const DEFAULT_POLICY = {
  max_loaded_models: 4,
  memory_budget_mb: 0,
  keep_alive_seconds: 300,
  single_model_mode: false,
  auto_load: true,
  queue_size: 16,
};
const unloadAll = async () => {
  for (const m of (await runtime()).models) await post(t.admin, `/api/v1/models/${m.model_id}/unload`);
  await policy(DEFAULT_POLICY);
};
const chat = (who: TestUser, model: string, message: string, extra: object = {}) =>
  post(who, '/api/v1/chat', { message, model, channel: 'webapp', user_id: 'u-1', ...extra });

describe('load, unload and the runtime view', () => {
  it('loads a version in its own process, reports it, serves it and unloads it', async () => {
    const m = await modelWithVersion(t, dev);
    const loaded = await post(dev, `/api/v1/models/${m.id}/load`, { config: { ballast_mb: 16 } });
    expect(loaded.statusCode, loaded.body).toBe(200);
    expect(loaded.json()).toMatchObject({
      status: 'success',
      model_id: m.id,
      version: 1,
      runtime: 'scripted',
    });
    expect(Date.parse(loaded.json().loaded_at)).not.toBeNaN();

    const view = await runtime();
    const entry = view.models.find((e: { model_id: string }) => e.model_id === m.id);
    expect(entry).toMatchObject({ status: 'loaded', version: 1, parallel: 1, active: 0, keep_alive: 300 });
    expect(entry.pid).not.toBe(process.pid);
    expect(entry.memory_bytes).toBeGreaterThan(16 * 1024 * 1024);
    expect(view.runtimes.map((r: { name: string }) => r.name)).toEqual(
      expect.arrayContaining(['llama', 'onnx', 'transformers', 'scripted']),
    );
    expect((await t.as(plain.token, { method: 'GET', url: `/api/v1/models/${m.id}` })).json().status).toBe(
      'loaded',
    );

    const answer = await chat(plain, m.name, 'hello there polar');
    expect(answer.statusCode, answer.body).toBe(200);
    expect(answer.json()).toMatchObject({
      response: 'hello there polar',
      model: m.name,
      version: 1,
      finish_reason: 'stop',
      channel: 'webapp',
      user_id: 'u-1',
      usage: { prompt_tokens: 3, completion_tokens: 3 },
      parameters_used: { temperature: 1, top_k: 50, top_p: 0.9, max_length: 100 },
    });
    expect(Date.parse(answer.json().timestamp)).not.toBeNaN();

    const unloaded = await post(dev, `/api/v1/models/${m.id}/unload`);
    expect(unloaded.json()).toMatchObject({ status: 'success', model_id: m.id, versions_unloaded: 1 });
    expect((await runtime()).models.some((e: { model_id: string }) => e.model_id === m.id)).toBe(false);
    expect((await t.as(plain.token, { method: 'GET', url: `/api/v1/models/${m.id}` })).json().status).toBe(
      'available',
    );
  });

  it('checks who may load, what may be loaded and the load options', async () => {
    const m = await modelWithVersion(t, dev);
    expect((await post(plain, `/api/v1/models/${m.id}/load`)).statusCode).toBe(403);
    const priv = await modelWithVersion(t, dev, { visibility: 'private' });
    expect((await post(other, `/api/v1/models/${priv.id}/load`)).statusCode).toBe(404);
    expect((await chat(plain, priv.name, 'hi')).statusCode).toBe(404);
    const bad = await post(dev, `/api/v1/models/${m.id}/load`, { config: { nope: 1 } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('invalid_load_config');
    expect((await post(dev, `/api/v1/models/${m.id}/load`, { version: 7 })).json().code).toBe(
      'version_not_found',
    );
    expect((await post(dev, `/api/v1/models/${m.id}/load`, { version: 1, alias: 'x' })).statusCode).toBe(400);
    const failing = await post(dev, `/api/v1/models/${m.id}/load`, { config: { fail_load: true } });
    expect(failing.statusCode).toBe(422);
    expect(failing.json().code).toBe('model_load_failed');

    const safet = await t.as(dev.token, {
      method: 'POST',
      url: '/api/v1/models',
      payload: { name: `st-${Date.now()}`, task: 'chat' },
    });
    const { tinySafetensors } = await import('../../../test/fixtures/models/safetensors.js');
    await addVersion(t, dev, safet.json().id, [{ file: 'model.safetensors', data: tinySafetensors() }]);
    const notServable = await post(dev, `/api/v1/models/${safet.json().id}/load`);
    expect(notServable.statusCode).toBe(422);
    expect(notServable.json().code).toBe('model_not_servable');
    await unloadAll();
  });

  it('addresses versions as name:version and name@alias, and serves retired ones only on request', async () => {
    const m = await modelWithVersion(t, dev);
    await addVersion(t, dev, m.id);
    expect((await chat(plain, m.name, 'latest')).json().version).toBe(2);
    expect((await chat(plain, `${m.name}:1`, 'first')).json()).toMatchObject({
      version: 1,
      model: `${m.name}:1`,
    });
    await t.as(dev.token, {
      method: 'PUT',
      url: `/api/v1/models/${m.id}/aliases/production`,
      payload: { version: 1 },
    });
    expect((await chat(plain, m.name, 'prod')).json().version).toBe(1);
    expect((await chat(plain, `${m.name}@production`, 'p')).json().model).toBe(`${m.name}@production`);
    expect((await chat(plain, `${m.name}@nope`, 'p')).json().code).toBe('alias_not_found');
    expect((await chat(plain, `${m.name}:x:1`, 'p')).statusCode).toBe(400);

    await t.as(dev.token, {
      method: 'POST',
      url: `/api/v1/models/${m.id}/versions/2/retire`,
      payload: { reason: 'old' },
    });
    const refused = await chat(plain, `${m.name}:2`, 'retired');
    expect(refused.statusCode).toBe(409);
    expect(refused.json().code).toBe('version_retired');
    expect(
      (await post(dev, `/api/v1/models/${m.id}/load`, { version: 2, allow_retired: true })).statusCode,
    ).toBe(200);
    expect((await chat(plain, `${m.name}:2`, 'retired')).statusCode).toBe(200);
    await unloadAll();
  });
});

describe('lifecycle with the registry and admin', () => {
  it('deleting a loaded model unloads it; clean_cache keeps only loaded versions; system status names them', async () => {
    await post(t.admin, '/api/v1/admin/cleanup', { operations: ['clean_cache'], force: true });
    const a = await modelWithVersion(t, dev);
    const b = await modelWithVersion(t, dev);
    await post(dev, `/api/v1/models/${a.id}/load`);
    const loaded = await post(dev, `/api/v1/models/${b.id}/load`);
    expect(loaded.statusCode, loaded.body).toBe(200);
    const status = await t.as(t.admin.token, { method: 'GET', url: '/api/v1/admin/system-status' });
    expect(status.json().model_status.loaded_model).toContain(`${a.name}:1`);
    expect(status.json().model_status.model_memory_usage).toBeGreaterThan(0);
    const cache = join(t.dataDir, 'runtime', 'versions');
    expect(readdirSync(cache).filter((d) => !d.includes('.tmp-'))).toHaveLength(2);

    const del = await t.as(dev.token, { method: 'DELETE', url: `/api/v1/models/${a.id}` });
    expect(del.statusCode).toBe(200);
    expect((await runtime()).models.map((e: { model_id: string }) => e.model_id)).toEqual([b.id]);
    const clean = await post(t.admin, '/api/v1/admin/cleanup', { operations: ['clean_cache'], force: true });
    expect(clean.statusCode, clean.body).toBe(200);
    expect(readdirSync(cache)).toHaveLength(1);
    await unloadAll();
  });
});

describe('parameters and requests', () => {
  it('applies request > model > defaults and refuses what the runtime cannot do', async () => {
    const m = await modelWithVersion(t, dev);
    await t.as(dev.token, {
      method: 'PUT',
      url: `/api/v1/models/${m.id}/parameters`,
      payload: { parameters: { max_length: 2, temperature: 0.3 } },
    });
    const stored = await chat(plain, m.name, 'a b c d e');
    expect(stored.json()).toMatchObject({ response: 'a b', finish_reason: 'length' });
    expect(stored.json().parameters_used).toMatchObject({ max_length: 2, temperature: 0.3, top_k: 50 });
    const request = await chat(plain, m.name, 'a b c d e', { parameters: { max_length: 3 } });
    expect(request.json()).toMatchObject({ response: 'a b c' });
    expect(request.json().parameters_used).toMatchObject({ max_length: 3, temperature: 0.3 });

    const range = await chat(plain, m.name, 'x', { parameters: { temperature: 3 } });
    expect(range.statusCode).toBe(400);
    expect(JSON.stringify(range.json())).toMatch(/temperature must be between 0 and 2/);
    const unknown = await chat(plain, m.name, 'x', { parameters: { temprature: 1 } });
    expect(unknown.statusCode).toBe(400);
    const beams = await chat(plain, m.name, 'x', { parameters: { num_beams: 2 } });
    expect(beams.statusCode).toBe(400);
    expect(beams.json().code).toBe('unsupported_parameter');
    expect((await post(plain, '/api/v1/chat', { message: '' })).statusCode).toBe(400);
    await unloadAll();
  });

  it('predicts one row and many', async () => {
    const m = await modelWithVersion(t, dev, { task: 'regression' });
    const one = await post(plain, `/api/v1/models/${m.id}/predict`, { input: { a: 1, b: 2.5 } });
    expect(one.statusCode, one.body).toBe(200);
    expect(one.json()).toMatchObject({ model: m.name, version: 1, prediction: 3.5, probabilities: null });
    const many = await post(plain, `/api/v1/models/${m.name}/predict_batch`, {
      rows: [{ a: 1 }, { a: 2, b: 3 }],
      version: 1,
    });
    expect(many.json()).toMatchObject({ count: 2, predictions: [1, 5] });
    expect((await post(plain, `/api/v1/models/${m.id}/predict_batch`, { rows: [] })).statusCode).toBe(400);
    const rows = await post(plain, `/api/v1/models/${m.id}/predict`, { rows: [{ a: 2 }, { a: 1, b: 1 }] });
    expect(rows.json(), rows.body).toMatchObject({
      count: 2,
      predictions: [2, 2],
      probabilities: null,
      labels: null,
    });
    expect(
      (await post(plain, `/api/v1/models/${m.id}/predict`, { rows: [{ a: 1 }], input: { a: 1 } })).statusCode,
    ).toBe(400);
    const gen = await chat(plain, m.name, 'hi');
    expect(gen.json().code).toBe('model_cannot_generate');
    await unloadAll();
  });

  it('records every inference and exposes it in /metrics', async () => {
    const m = await modelWithVersion(t, dev);
    await chat(plain, m.name, 'count these four');
    await t.app.inject({ method: 'GET', url: '/health' });
    await (t.app as unknown as { services: { metrics: unknown } }).services;
    await sleep(1200); // the recorder flushes about every second
    const metrics = await t.as(t.admin.token, { method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(
      new RegExp(`polar_inference_requests_total\\{model="${m.name}",endpoint="api_chat",status="ok"\\} 1`),
    );
    expect(metrics.body).toMatch(
      new RegExp(`polar_inference_tokens_total\\{model="${m.name}",direction="out"\\} 3`),
    );
    await unloadAll();
  });
});

describe('policy', () => {
  it('single-model mode: loading one model unloads the others', async () => {
    await policy({ ...DEFAULT_POLICY, single_model_mode: true });
    const a = await modelWithVersion(t, dev);
    const b = await modelWithVersion(t, dev);
    await post(dev, `/api/v1/models/${a.id}/load`);
    await post(dev, `/api/v1/models/${b.id}/load`);
    expect((await runtime()).models.map((e: { model_id: string }) => e.model_id)).toEqual([b.id]);
    await unloadAll();
  });

  it('max loaded models: the least recently used idle model makes room', async () => {
    await policy({ ...DEFAULT_POLICY, max_loaded_models: 2 });
    const [a, b, c] = [
      await modelWithVersion(t, dev),
      await modelWithVersion(t, dev),
      await modelWithVersion(t, dev),
    ];
    await post(dev, `/api/v1/models/${a.id}/load`);
    await post(dev, `/api/v1/models/${b.id}/load`);
    await chat(plain, a.name, 'touch a'); // b is now the least recently used
    await chat(plain, c.name, 'auto load c');
    const ids = (await runtime()).models.map((e: { model_id: string }) => e.model_id).sort();
    expect(ids).toEqual([a.id, c.id].sort());
    await unloadAll();
  });

  it('memory budget: a model larger than the budget is refused, others make room', async () => {
    await policy({ ...DEFAULT_POLICY, memory_budget_mb: 1 });
    const m = await modelWithVersion(t, dev);
    const res = await post(dev, `/api/v1/models/${m.id}/load`);
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe('memory_budget_exceeded');
    await unloadAll();
  });

  it('keep-alive unloads an idle model; -1 keeps it', async () => {
    const a = await modelWithVersion(t, dev);
    const b = await modelWithVersion(t, dev);
    await post(dev, `/api/v1/models/${a.id}/load`, { keep_alive: 1 });
    await post(dev, `/api/v1/models/${b.id}/load`, { keep_alive: -1 });
    const before = await runtime();
    expect(before.models.find((e: { model_id: string }) => e.model_id === b.id).expires_at).toBeNull();
    await sleep(1600);
    expect((await runtime()).models.map((e: { model_id: string }) => e.model_id)).toEqual([b.id]);
    await unloadAll();
  });

  it('auto_load off: a request for a model that is not loaded gets 409', async () => {
    await policy({ ...DEFAULT_POLICY, auto_load: false });
    const m = await modelWithVersion(t, dev);
    const res = await chat(plain, m.name, 'hi');
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe('model_not_loaded');
    await unloadAll();
  });
});

describe('overload, disconnects and crashes', () => {
  it('queues up to the limit, then answers 429 with Retry-After', async () => {
    await policy({ ...DEFAULT_POLICY, queue_size: 1 });
    const m = await modelWithVersion(t, dev);
    await post(dev, `/api/v1/models/${m.id}/load`, { config: { word_ms: 40 } });
    const results = await Promise.all([1, 2, 3, 4].map(() => chat(plain, m.name, 'one two three four five')));
    const codes = results.map((r) => r.statusCode).sort();
    expect(codes).toEqual([200, 200, 429, 429]);
    const refused = results.find((r) => r.statusCode === 429);
    expect(refused?.headers['retry-after']).toBeDefined();
    expect(refused?.json().code).toBe('model_busy');
    await unloadAll();
  });

  it('stops generating when the client disconnects', async () => {
    const m = await modelWithVersion(t, dev);
    await post(dev, `/api/v1/models/${m.id}/load`);
    const address = await t.app.listen({ port: 0, host: '127.0.0.1' });
    const req = httpRequest(`${address}/api/v1/chat`, {
      method: 'POST',
      headers: { authorization: `Bearer ${plain.token}`, 'content-type': 'application/json' },
    });
    req.on('error', () => undefined);
    req.end(JSON.stringify({ model: m.name, message: 'HANG forever' }));
    const busy = async () =>
      (await runtime()).models.find((e: { model_id: string }) => e.model_id === m.id)?.active ?? 0;
    for (let i = 0; i < 50 && (await busy()) === 0; i++) await sleep(20);
    expect(await busy()).toBe(1);
    req.destroy();
    for (let i = 0; i < 100 && (await busy()) > 0; i++) await sleep(20);
    expect(await busy()).toBe(0);
    await unloadAll();
  });

  it('a crashed runtime marks its model error; the node keeps serving the others and reloads on demand', async () => {
    const a = await modelWithVersion(t, dev);
    const b = await modelWithVersion(t, dev);
    await post(dev, `/api/v1/models/${a.id}/load`);
    await post(dev, `/api/v1/models/${b.id}/load`);
    const crash = await chat(plain, a.name, 'please CRASH');
    expect(crash.statusCode).toBe(503);
    expect(crash.json().code).toBe('runtime_crashed');
    expect((await t.as(plain.token, { method: 'GET', url: `/api/v1/models/${a.id}` })).json().status).toBe(
      'error',
    );
    expect((await runtime()).models.find((e: { model_id: string }) => e.model_id === a.id)).toMatchObject({
      status: 'error',
      error: expect.stringMatching(/runtime process stopped/),
    });
    expect((await chat(plain, b.name, 'still serving')).json().response).toBe('still serving');
    expect((await chat(plain, a.name, 'back again')).json().response).toBe('back again');
    await unloadAll();
  });
});
