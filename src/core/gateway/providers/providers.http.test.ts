import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type FakeProvider,
  startFakeOllama,
  startFakeOpenAI,
} from '../../../../test/fixtures/fake-provider/index.js';
import { createTestApp, type TestApp, type TestUser } from '../../../../test/helpers/app.js';

/**
 * Providers over HTTP against fake upstreams on 127.0.0.1 (listed in POLAR_EGRESS_ALLOW, as a local
 * vLLM or Ollama would be). Every answer is kept, so the last test can prove that no key ever
 * appeared in an answer, a log line, an audit record or an event.
 */
const KEY = 'sk-live-9f8e7d6c5b4a3210';
const OTHER_KEY = 'sk-other-a1b2c3d4e5f6a7b8';
const WRONG_KEY = 'sk-wrong-00112233445566';

let t: TestApp;
let dev: TestUser;
let user: TestUser;
let openai: FakeProvider;
let ollama: FakeProvider;
const answers: string[] = [];

beforeAll(async () => {
  [openai, ollama] = await Promise.all([startFakeOpenAI({ apiKey: KEY }), startFakeOllama()]);
  t = await createTestApp({
    env: { POLAR_EGRESS_ALLOW: '127.0.0.0/8' },
    deps: {
      settingsOverrides: {
        'security/auth': { login_per_minute: 10_000 },
        'gateway/upstream': { test_timeout_ms: 1000 },
      },
    },
  });
  [dev, user] = [await t.user('developer'), await t.user('user')];
});
afterAll(async () => {
  await t?.close();
  await Promise.all([openai?.close(), ollama?.close()]);
});
afterEach(() => {
  openai.setMode({ kind: 'ok' });
  openai.apiKey = KEY;
});

async function call(token: string, opts: InjectOptions): Promise<LightMyRequestResponse> {
  const res = await t.as(token, opts);
  answers.push(res.body);
  return res;
}
const admin = (opts: InjectOptions) => call(t.admin.token, opts);
const create = (payload: Record<string, unknown>) =>
  admin({ method: 'POST', url: '/api/v1/providers', payload });

let seq = 0;
const upstream = async (extra: Record<string, unknown> = {}) => {
  const res = await create({
    name: `up-${++seq}`,
    kind: 'openai',
    base_url: openai.baseUrl,
    api_key: KEY,
    ...extra,
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: string; name: string };
};

describe('providers CRUD', () => {
  it('creates a provider and never answers its key', async () => {
    const res = await create({ name: 'up', kind: 'openai', base_url: `${openai.baseUrl}/`, api_key: KEY });
    expect(res.statusCode, res.body).toBe(201);
    const p = res.json();
    expect(p).toMatchObject({
      name: 'up',
      kind: 'openai',
      base_url: openai.baseUrl,
      api_key_set: true,
      api_key_last4: '…3210',
      deployment: null,
      enabled: true,
      last_test: null,
    });
    expect(p).not.toHaveProperty('api_key');
    expect(res.body).not.toContain(KEY);
    const again = await create({ name: 'UP', kind: 'ollama', base_url: ollama.baseUrl });
    expect([again.statusCode, again.json().code]).toEqual([409, 'provider_name_taken']);
  });

  it('finds by id or name; readers see no key hint; users may not look', async () => {
    const { id } = await upstream();
    const byName = await admin({ method: 'GET', url: `/api/v1/providers/${`up-${seq}`.toUpperCase()}` });
    expect(byName.json().id).toBe(id);
    const asDev = await call(dev.token, { method: 'GET', url: `/api/v1/providers/${id}` });
    expect(asDev.statusCode).toBe(200);
    expect(asDev.json()).toMatchObject({ id, api_key_set: true });
    expect(asDev.json()).not.toHaveProperty('api_key_last4');
    const list = await call(dev.token, { method: 'GET', url: '/api/v1/providers?limit=1' });
    expect(list.json().items).toHaveLength(1);
    expect(list.json().next_cursor).toEqual(expect.any(String));
    const next = await call(dev.token, {
      method: 'GET',
      url: `/api/v1/providers?limit=100&cursor=${list.json().next_cursor}`,
    });
    expect(next.json().items.map((x: { id: string }) => x.id)).not.toContain(list.json().items[0].id);
    for (const [method, url] of [
      ['GET', '/api/v1/providers'],
      ['GET', `/api/v1/providers/${id}`],
    ] as const) {
      const res = await call(user.token, { method, url });
      expect([res.statusCode, res.json().code]).toEqual([403, 'permission_denied']);
    }
    expect((await admin({ method: 'GET', url: '/api/v1/providers/nope' })).statusCode).toBe(404);
  });

  it('lets only gateway:write change, test, register or remove', async () => {
    const { id } = await upstream();
    for (const [method, url, payload] of [
      ['POST', '/api/v1/providers', { name: 'x', kind: 'openai', base_url: openai.baseUrl }],
      ['PATCH', `/api/v1/providers/${id}`, { description: 'x' }],
      ['DELETE', `/api/v1/providers/${id}`, undefined],
      ['POST', `/api/v1/providers/${id}/test`, undefined],
      ['POST', `/api/v1/providers/${id}/models/register`, { model: 'gpt-x' }],
    ] as const) {
      const res = await call(dev.token, { method, url, ...(payload ? { payload } : {}) });
      expect([res.statusCode, res.json().code], `${method} ${url}`).toEqual([403, 'permission_denied']);
    }
    expect((await call(dev.token, { method: 'GET', url: `/api/v1/providers/${id}/models` })).statusCode).toBe(
      200,
    );
  });

  it('updates, keeping the key on its mask and refusing other masks', async () => {
    const { id } = await upstream();
    const kept = await admin({
      method: 'PATCH',
      url: `/api/v1/providers/${id}`,
      payload: { description: 'main', api_key: '…3210', timeout_ms: 5000 },
    });
    expect(kept.statusCode, kept.body).toBe(200);
    expect(kept.json()).toMatchObject({ description: 'main', timeout_ms: 5000, api_key_last4: '…3210' });
    expect((await admin({ method: 'POST', url: `/api/v1/providers/${id}/test` })).json().ok).toBe(true);
    const mask = await admin({
      method: 'PATCH',
      url: `/api/v1/providers/${id}`,
      payload: { api_key: '…9999' },
    });
    expect([mask.statusCode, mask.json().code]).toEqual([400, 'secret_is_mask']);
    const changed = await admin({
      method: 'PATCH',
      url: `/api/v1/providers/${id}`,
      payload: { api_key: OTHER_KEY },
    });
    expect(changed.json().api_key_last4).toBe('…a7b8');
    const cleared = await admin({
      method: 'PATCH',
      url: `/api/v1/providers/${id}`,
      payload: { api_key: null },
    });
    expect(cleared.json()).toMatchObject({ api_key_set: false, api_key_last4: null });
  });

  it('asks for the key again when the base URL moves to another host', async () => {
    const { id } = await upstream();
    const moved = await admin({
      method: 'PATCH',
      url: `/api/v1/providers/${id}`,
      payload: { base_url: `${ollama.url}/v1` },
    });
    expect([moved.statusCode, moved.json().code]).toEqual([400, 'api_key_required']);
    expect(moved.json().errors[0].path).toBe('body.api_key');
    const samePlace = await admin({
      method: 'PATCH',
      url: `/api/v1/providers/${id}`,
      payload: { base_url: `${openai.url}/v1/` },
    });
    expect(samePlace.statusCode, samePlace.body).toBe(200);
    const withKey = await admin({
      method: 'PATCH',
      url: `/api/v1/providers/${id}`,
      payload: { base_url: `${ollama.url}/v1`, api_key: OTHER_KEY },
    });
    expect(withKey.json()).toMatchObject({ base_url: `${ollama.url}/v1`, api_key_last4: '…a7b8' });
  });

  it('deletes, and answers 404 afterwards', async () => {
    const { id } = await upstream();
    expect((await admin({ method: 'DELETE', url: `/api/v1/providers/${id}` })).statusCode).toBe(204);
    expect((await admin({ method: 'GET', url: `/api/v1/providers/${id}` })).statusCode).toBe(404);
    expect((await admin({ method: 'DELETE', url: `/api/v1/providers/${id}` })).statusCode).toBe(404);
  });
});

describe('validation and the egress policy at save time', () => {
  it.each([
    ['http://169.254.169.254/v1', /link-local \(cloud metadata\), which is never allowed/],
    ['http://2852039166/v1', /169\.254\.169\.254 is link-local/],
    ['http://0xa9.0xfe.0xa9.0xfe/v1', /169\.254\.169\.254/],
    ['http://[::ffff:169.254.169.254]/v1', /::ffff:a9fe:a9fe \(169\.254\.169\.254\)/],
    ['http://[fe80::1]/v1', /link-local/],
    ['http://10.0.0.7:8000/v1', /10\.0\.0\.7 is private; list it .* in POLAR_EGRESS_ALLOW/],
    ['http://[::1]:8000/v1', /loopback/],
    ['http://0.0.0.0:8000/v1', /unspecified/],
    ['ftp://example.com/v1', /scheme ftp:/],
    ['http://admin:hunter2secret@example.com/v1', /credentials in the URL/],
  ])('refuses %s with 400 egress_denied naming the reason', async (base_url, reason) => {
    const res = await create({ name: 'blocked', kind: 'openai', base_url });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.headers['content-type']).toContain('application/problem+json');
    const body = res.json();
    expect(body.code).toBe('egress_denied');
    expect(body.errors[0].path).toBe('body.base_url');
    expect(body.errors[0].message).toMatch(reason);
    expect(res.body).not.toContain('hunter2secret');
  });

  it.each([
    [{ name: 'a', base_url: 'http://x.example/v1' }, 'body.kind'],
    [{ name: 'a', kind: 'azure-openai', base_url: 'https://a.openai.azure.com' }, 'body.deployment'],
    [{ name: 'a', kind: 'openai', base_url: 'https://x.example/v1', deployment: 'd' }, 'body.deployment'],
    [{ name: 'a', kind: 'openai', base_url: 'https://x.example/v1', api_key: 'has space' }, 'body.api_key'],
    [{ name: 'bad name', kind: 'openai', base_url: 'https://x.example/v1' }, 'body.name'],
    [{ name: 'a', kind: 'openai', base_url: 'https://x.example/v1', url: 'http://x' }, 'body.'],
    [{ name: 'a', kind: 'gemini', base_url: 'https://x.example/v1' }, 'body.kind'],
  ])('refuses %j naming %s', async (payload, path) => {
    const res = await create(payload);
    expect([res.statusCode, res.json().code], res.body).toEqual([400, 'validation_error']);
    expect(res.json().errors.map((e: { path: string }) => e.path)).toContain(path);
  });

  it('refuses a query string in the base URL', async () => {
    const res = await create({ name: 'q', kind: 'openai', base_url: `${openai.baseUrl}?key=${KEY}` });
    expect([res.statusCode, res.json().code]).toEqual([400, 'invalid_base_url']);
    expect(res.body).not.toContain(KEY);
  });

  it('stores an address the way the URL parser spells it', async () => {
    const port = new URL(openai.url).port;
    const res = await create({ name: 'decimal', kind: 'openai', base_url: `http://2130706433:${port}/v1` });
    expect(res.json().base_url).toBe(`http://127.0.0.1:${port}/v1`);
  });

  it('keeps the PATCH checks: azure fields on other kinds, blocked URLs', async () => {
    const { id } = await upstream();
    const az = await admin({
      method: 'PATCH',
      url: `/api/v1/providers/${id}`,
      payload: { api_version: '2024-10-21' },
    });
    expect([az.statusCode, az.json().errors[0].path]).toEqual([400, 'body.api_version']);
    const blocked = await admin({
      method: 'PATCH',
      url: `/api/v1/providers/${id}`,
      payload: { base_url: 'http://169.254.169.254/', api_key: KEY },
    });
    expect([blocked.statusCode, blocked.json().code]).toEqual([400, 'egress_denied']);
  });
});

describe('connectivity test and remote models', () => {
  it('tests ok and records the result', async () => {
    const { id } = await upstream();
    const res = await admin({ method: 'POST', url: `/api/v1/providers/${id}/test` });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ ok: true, latency_ms: expect.any(Number) });
    expect(openai.requests.at(-1)?.headers.authorization).toBe(`Bearer ${KEY}`);
    const p = (await admin({ method: 'GET', url: `/api/v1/providers/${id}` })).json();
    expect(p.last_test).toMatchObject({ ok: true, latency_ms: expect.any(Number) });
  });

  it('reports a refused key as ok: false without the key the upstream echoed', async () => {
    const { id } = await upstream({ api_key: WRONG_KEY });
    const res = await admin({ method: 'POST', url: `/api/v1/providers/${id}/test` });
    expect(res.json()).toMatchObject({
      ok: false,
      error: { code: 'upstream_unauthorized', upstream_status: 401 },
    });
    expect(res.body).not.toContain(WRONG_KEY);
    const models = await call(dev.token, { method: 'GET', url: `/api/v1/providers/${id}/models` });
    expect([models.statusCode, models.json().code]).toEqual([502, 'upstream_unauthorized']);
    expect(models.body).not.toContain(WRONG_KEY);
  });

  it('reports a timeout', async () => {
    const { id } = await upstream();
    openai.setMode({ kind: 'slow', ms: 3000 });
    const t0 = Date.now();
    const res = await admin({ method: 'POST', url: `/api/v1/providers/${id}/test` });
    expect(res.json()).toMatchObject({ ok: false, error: { code: 'upstream_timeout' } });
    expect(Date.now() - t0).toBeLessThan(2500);
    const p = (await admin({ method: 'GET', url: `/api/v1/providers/${id}` })).json();
    expect(p.last_test).toMatchObject({ ok: false, error_code: 'upstream_timeout' });
  });

  it.each([
    [{ kind: 'status', status: 429, retryAfter: 9 } as const, 429, 'upstream_rate_limited'],
    [{ kind: 'status', status: 500 } as const, 502, 'upstream_error'],
    [{ kind: 'bad-json' } as const, 502, 'upstream_bad_response'],
    [{ kind: 'drop-mid-stream' } as const, 502, 'upstream_disconnected'],
  ])('maps %j on the model list to %i %s', async (mode, status, code) => {
    const { id } = await upstream();
    openai.setMode(mode);
    const res = await call(dev.token, { method: 'GET', url: `/api/v1/providers/${id}/models` });
    expect([res.statusCode, res.json().code], res.body).toEqual([status, code]);
    if (status === 429) expect(res.headers['retry-after']).toBe('9');
  });

  it('refuses a redirect, even to an allowed place, and names it', async () => {
    const { id } = await upstream();
    const before = ollama.requests.length;
    openai.setMode({ kind: 'redirect-to', url: `${ollama.url}/api/tags` });
    const test = await admin({ method: 'POST', url: `/api/v1/providers/${id}/test` });
    expect(test.json()).toMatchObject({
      ok: false,
      error: { code: 'upstream_redirect', upstream_status: 302 },
    });
    expect(test.json().error.message).toContain('redirect');
    const models = await admin({ method: 'GET', url: `/api/v1/providers/${id}/models` });
    expect([models.statusCode, models.json().code]).toEqual([502, 'upstream_redirect']);
    expect(ollama.requests.length).toBe(before);
  });

  it('lists the remote models of each kind', async () => {
    const { id } = await upstream();
    const res = await call(dev.token, { method: 'GET', url: `/api/v1/providers/${id}/models` });
    expect(res.json()).toEqual({
      items: [
        { id: 'gpt-x', owned_by: 'fake' },
        { id: 'gpt-y', owned_by: 'fake' },
      ],
    });
    const ol = (await create({ name: 'local-ollama', kind: 'ollama', base_url: ollama.baseUrl })).json();
    const tags = await admin({ method: 'GET', url: `/api/v1/providers/${ol.id}/models` });
    expect(tags.json().items.map((m: { id: string }) => m.id)).toEqual(['llama3.2:1b', 'qwen2.5:0.5b']);
    expect((await admin({ method: 'POST', url: `/api/v1/providers/${ol.id}/test` })).json().ok).toBe(true);
    const az = await create({
      name: 'azure',
      kind: 'azure-openai',
      base_url: openai.url,
      deployment: 'gpt-y',
      api_key: KEY,
    });
    expect(az.json()).toMatchObject({ deployment: 'gpt-y', api_version: '2024-10-21' });
    expect((await admin({ method: 'POST', url: `/api/v1/providers/${az.json().id}/test` })).json().ok).toBe(
      true,
    );
    expect(openai.requests.at(-1)?.headers['api-key']).toBe(KEY);
    const deployments = await admin({ method: 'GET', url: `/api/v1/providers/${az.json().id}/models` });
    expect(deployments.json().items).toEqual([{ id: 'gpt-y', owned_by: 'azure-openai' }]);
  });
});

describe('registering remote models', () => {
  it('creates a registry model with an external version, then adds to it', async () => {
    const { id, name } = await upstream();
    const res = await admin({
      method: 'POST',
      url: `/api/v1/providers/${id}/models/register`,
      payload: { model: 'gpt-x' },
    });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({
      model_name: 'gpt-x',
      created_model: true,
      version: { version: 1, format: 'external', external: { provider: id, model: 'gpt-x' }, size: 0 },
    });
    const again = await admin({
      method: 'POST',
      url: `/api/v1/providers/${name}/models/register`,
      payload: { model: 'gpt-y', as: 'gpt-x' },
    });
    expect(again.json()).toMatchObject({
      created_model: false,
      version: { version: 2, external: { model: 'gpt-y' } },
    });
    const model = await call(dev.token, { method: 'GET', url: '/api/v1/models/gpt-x' });
    expect(model.json()).toMatchObject({ task: 'chat', tags: ['external', `provider:${name}`] });
    const inUse = await admin({ method: 'DELETE', url: `/api/v1/providers/${id}` });
    expect([inUse.statusCode, inUse.json().code]).toEqual([409, 'provider_in_use']);
  });

  it('names Ollama models validly, refuses unknown ones and task mismatches', async () => {
    const ol = (await create({ name: 'ol-reg', kind: 'ollama', base_url: ollama.baseUrl })).json();
    const res = await admin({
      method: 'POST',
      url: `/api/v1/providers/${ol.id}/models/register`,
      payload: { model: 'llama3.2:1b' },
    });
    expect(res.json()).toMatchObject({
      model_name: 'llama3.2-1b',
      version: { external: { model: 'llama3.2:1b' } },
    });
    const unknown = await admin({
      method: 'POST',
      url: `/api/v1/providers/${ol.id}/models/register`,
      payload: { model: 'not-there' },
    });
    expect([unknown.statusCode, unknown.json().code]).toEqual([400, 'remote_model_not_found']);
    const task = await admin({
      method: 'POST',
      url: `/api/v1/providers/${ol.id}/models/register`,
      payload: { model: 'qwen2.5:0.5b', as: 'llama3.2-1b', task: 'embedding' },
    });
    expect([task.statusCode, task.json().code]).toEqual([409, 'model_task_mismatch']);
    const field = await admin({
      method: 'POST',
      url: `/api/v1/providers/${ol.id}/models/register`,
      payload: { model: 'x', base_url: 'http://169.254.169.254' },
    });
    expect([field.statusCode, field.json().code]).toEqual([400, 'validation_error']);
  });
});

describe('documentation and settings', () => {
  it('documents every route, and no answer schema has a key field', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json();
    for (const [path, method] of [
      ['/api/v1/providers', 'get'],
      ['/api/v1/providers', 'post'],
      ['/api/v1/providers/{provider_id}', 'patch'],
      ['/api/v1/providers/{provider_id}/test', 'post'],
      ['/api/v1/providers/{provider_id}/models', 'get'],
      ['/api/v1/providers/{provider_id}/models/register', 'post'],
    ] as const)
      expect(doc.paths[path]?.[method], `${method} ${path}`).toBeTruthy();
    const schemas = doc.components.schemas;
    expect(schemas.CreateProvider.properties.kind.enum).toEqual(['openai', 'azure-openai', 'ollama']);
    expect(schemas.Provider.properties).not.toHaveProperty('api_key');
    expect(schemas.Provider.properties.api_key_set).toMatchObject({ type: 'boolean' });
  });

  it('exposes the upstream limits as settings an admin can change', async () => {
    const res = await admin({ method: 'GET', url: '/api/v1/settings/gateway/upstream' });
    expect(res.statusCode, res.body).toBe(200);
    expect(JSON.stringify(res.json())).toContain('stream_idle_timeout_ms');
  });
});

describe('secrets', () => {
  it('never appear in answers, logs, audit records or events', async () => {
    const audit = await admin({ method: 'GET', url: '/api/v1/audit?limit=500&target_type=provider' });
    const actions = new Set(audit.json().items.map((r: { action: string }) => r.action));
    for (const a of ['provider.create', 'provider.update', 'provider.delete', 'provider.model.register'])
      expect(actions).toContain(a);
    const events = await t.app.services.bus.since(0, ['gateway', 'audit'], 10_000);
    expect(events.some((e) => e.type === 'provider.tested')).toBe(true);
    const haystacks = {
      answers: answers.join('\n'),
      logs: t.logs.join('\n'),
      audit: audit.body,
      events: JSON.stringify(events),
    };
    for (const [where, text] of Object.entries(haystacks))
      for (const secret of [KEY, OTHER_KEY, WRONG_KEY, 'hunter2secret'])
        expect(text.includes(secret), `${secret} in ${where}`).toBe(false);
    // The key did reach the upstream: the checks above are not vacuous.
    expect(openai.requests.some((r) => r.headers.authorization === `Bearer ${KEY}`)).toBe(true);
    expect(t.logs.length).toBeGreaterThan(10);
  });
});
