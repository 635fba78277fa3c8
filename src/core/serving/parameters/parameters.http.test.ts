import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp, type TestUser } from '../../../../test/helpers/app.js';
import { DEFAULT_PARAMETERS } from './schema.js';

let t: TestApp;
let dev: TestUser;
let other: TestUser;
let plain: TestUser;

beforeAll(async () => {
  t = await createTestApp();
  dev = await t.user('developer');
  other = await t.user('developer');
  plain = await t.user('user');
});
afterAll(async () => t?.close());

let n = 0;
async function model(owner: TestUser, visibility: 'internal' | 'private' = 'internal') {
  const res = await t.as(owner.token, {
    method: 'POST',
    url: '/api/v1/models',
    payload: { name: `params-${++n}-${Math.random().toString(36).slice(2, 6)}`, task: 'chat', visibility },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: string; name: string };
}
const get = (token: string | null, id: string) =>
  t.as(token, { method: 'GET', url: `/api/v1/models/${id}/parameters` });
const put = (token: string | null, id: string, payload: unknown, headers: Record<string, string> = {}) =>
  t.as(token, { method: 'PUT', url: `/api/v1/models/${id}/parameters`, payload: payload as object, headers });
const reset = (token: string | null, id: string, headers: Record<string, string> = {}) =>
  t.as(token, { method: 'POST', url: `/api/v1/models/${id}/parameters/reset`, headers });
const audit = async (id: string, action: string) =>
  (
    await t.as(t.admin.token, {
      method: 'GET',
      url: `/api/v1/audit?target_id=${id}&action=${action}`,
    })
  ).json().items as { action: string; actor_id: string; details: Record<string, unknown> }[];

describe('GET /models/:id/parameters', () => {
  it('answers the defaults, null last_updated and ETag "0" for a model never configured; by id or name', async () => {
    const m = await model(dev);
    for (const ref of [m.id, m.name, m.name.toUpperCase()]) {
      const res = await get(plain.token, ref);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toEqual({ model_id: m.id, parameters: DEFAULT_PARAMETERS, last_updated: null });
      expect(res.headers.etag).toBe('"0"');
    }
  });

  it('401 without a token, 404 for an unknown model', async () => {
    const m = await model(dev);
    const anon = await get(null, m.id);
    expect(anon.statusCode).toBe(401);
    expect(anon.headers['content-type']).toContain('application/problem+json');
    const missing = await get(dev.token, 'no-such-model');
    expect(missing.statusCode).toBe(404);
    expect(missing.json().code).toBe('model_not_found');
  });

  it("hides another user's private model as not found on every parameters route", async () => {
    const m = await model(dev, 'private');
    for (const u of [other, plain]) {
      for (const res of [
        await get(u.token, m.id),
        await put(u.token, m.id, { parameters: { top_k: 3 } }),
        await reset(u.token, m.id),
      ]) {
        if (u === plain && res.statusCode === 403) continue; // a user may not write at all (below)
        expect(res.statusCode, res.body).toBe(404);
        expect(res.json().code).toBe('model_not_found');
      }
    }
    expect((await get(dev.token, m.id)).statusCode).toBe(200);
    expect((await get(t.admin.token, m.name)).statusCode).toBe(200);
    expect((await put(t.admin.token, m.id, { parameters: { top_k: 3 } })).statusCode).toBe(200);
  });
});

describe('PUT /models/:id/parameters', () => {
  it('stores a subset, answers only what changed, and GET merges it over the defaults', async () => {
    const m = await model(dev);
    const res = await put(dev.token, m.name, {
      parameters: { temperature: 0.7, top_k: 20, pad_token_id: 0 },
    });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body).toEqual({
      status: 'success',
      message: expect.stringContaining(m.name),
      model_id: m.id,
      updated_parameters: { temperature: 0.7, top_k: 20, pad_token_id: 0 },
      updated_at: expect.any(String),
    });
    expect(res.headers.etag).toBe('"1"');
    const again = await put(dev.token, m.id, { parameters: { do_sample: false } });
    expect(again.json().updated_parameters).toEqual({ do_sample: false });

    const read = await get(plain.token, m.id);
    expect(read.json()).toEqual({
      model_id: m.id,
      parameters: { ...DEFAULT_PARAMETERS, temperature: 0.7, top_k: 20, pad_token_id: 0, do_sample: false },
      last_updated: again.json().updated_at,
    });
    expect(read.headers.etag).toBe('"2"');

    const trail = await audit(m.id, 'model.parameters.update');
    expect(trail).toHaveLength(2);
    expect(trail.every((a) => a.actor_id === dev.id)).toBe(true);
    expect(trail.find((a) => a.details.version === 1)?.details).toMatchObject({
      changed: ['temperature', 'top_k', 'pad_token_id'],
      to: { temperature: 0.7, top_k: 20, pad_token_id: 0 },
    });
  });

  it('400 names the field and its range for an out-of-range value, and refuses unknown names', async () => {
    const m = await model(dev);
    const cases: [Record<string, unknown>, string, string][] = [
      [{ temperature: 2.5 }, 'body.parameters.temperature', 'temperature must be between 0 and 2'],
      [{ top_k: 0 }, 'body.parameters.top_k', 'top_k must be an integer between 1 and 100'],
      [{ top_p: -0.1 }, 'body.parameters.top_p', 'top_p must be between 0 and 1'],
      [
        { max_length: 4096 },
        'body.parameters.max_length',
        'max_length must be an integer between 1 and 2048',
      ],
      [{ num_beams: 2.5 }, 'body.parameters.num_beams', 'num_beams must be an integer between 1 and 10'],
      [
        { repetition_penalty: '1' },
        'body.parameters.repetition_penalty',
        'repetition_penalty must be between 0 and 2',
      ],
      [{ do_sample: 'yes' }, 'body.parameters.do_sample', 'do_sample must be true or false'],
      [
        { eos_token_id: -1 },
        'body.parameters.eos_token_id',
        'eos_token_id must be an integer between 0 and 2147483647',
      ],
    ];
    for (const [parameters, path, message] of cases) {
      const res = await put(dev.token, m.id, { parameters });
      expect(res.statusCode, res.body).toBe(400);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.json().code).toBe('validation_error');
      expect(res.json().errors).toContainEqual({ path, message });
    }
    const unknown = await put(dev.token, m.id, { parameters: { temprature: 1 } });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().errors[0].message).toContain('unknown parameter temprature');
    const extra = await put(dev.token, m.id, { parameters: { top_k: 2 }, version: 1 });
    expect(extra.statusCode).toBe(400);
    const missing = await put(dev.token, m.id, {});
    expect(missing.statusCode).toBe(400);
    const empty = await put(dev.token, m.id, { parameters: {} });
    expect(empty.statusCode).toBe(400);
    expect(empty.json().code).toBe('no_parameters');
    const badIfMatch = await put(dev.token, m.id, { parameters: { top_k: 2 } }, { 'if-match': 'banana' });
    expect(badIfMatch.statusCode).toBe(400);
    expect(badIfMatch.json().code).toBe('invalid_if_match');
    // Nothing was stored by any refused request.
    expect((await get(dev.token, m.id)).headers.etag).toBe('"0"');
    expect(await audit(m.id, 'model.parameters.update')).toHaveLength(0);
  });

  it('401 anonymous, 403 for a user (no models:write) and for a developer who is not the owner', async () => {
    const m = await model(dev);
    expect((await put(null, m.id, { parameters: { top_k: 2 } })).statusCode).toBe(401);
    const asUser = await put(plain.token, m.id, { parameters: { top_k: 2 } });
    expect(asUser.statusCode).toBe(403);
    expect(asUser.json().code).toBe('permission_denied');
    const asOther = await put(other.token, m.id, { parameters: { top_k: 2 } });
    expect(asOther.statusCode).toBe(403);
    expect(asOther.json().code).toBe('not_model_owner');
    expect((await put(t.admin.token, m.id, { parameters: { top_k: 2 } })).statusCode).toBe(200);
  });

  it('404 for an unknown model', async () => {
    const res = await put(dev.token, 'no-such-model', { parameters: { top_k: 2 } });
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe('model_not_found');
  });

  it('409 parameters_conflict on a stale If-Match; the current ETag applies', async () => {
    const m = await model(dev);
    const first = await put(dev.token, m.id, { parameters: { top_k: 10 } }, { 'if-match': '"0"' });
    expect(first.statusCode, first.body).toBe(200);
    const stale = await put(dev.token, m.id, { parameters: { top_k: 11 } }, { 'if-match': '"0"' });
    expect(stale.statusCode).toBe(409);
    expect(stale.json().code).toBe('parameters_conflict');
    expect((await get(dev.token, m.id)).json().parameters.top_k).toBe(10);
    const etag = (await get(dev.token, m.id)).headers.etag as string;
    const fresh = await put(dev.token, m.id, { parameters: { top_k: 12 } }, { 'if-match': etag });
    expect(fresh.statusCode).toBe(200);
    expect(fresh.headers.etag).toBe('"2"');
    expect((await put(dev.token, m.id, { parameters: { top_k: 13 } }, { 'if-match': '*' })).statusCode).toBe(
      200,
    );
  });
});

describe('POST /models/:id/parameters/reset', () => {
  it('forgets the stored values and answers all defaults; audited; the version keeps counting', async () => {
    const m = await model(dev);
    await put(dev.token, m.id, { parameters: { temperature: 0.1, eos_token_id: 2 } });
    const res = await reset(dev.token, m.name);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({
      status: 'success',
      message: expect.any(String),
      model_id: m.id,
      default_parameters: DEFAULT_PARAMETERS,
      reset_at: expect.any(String),
    });
    expect(res.headers.etag).toBe('"2"');
    const read = await get(dev.token, m.id);
    expect(read.json()).toEqual({
      model_id: m.id,
      parameters: DEFAULT_PARAMETERS,
      last_updated: res.json().reset_at,
    });
    const trail = await audit(m.id, 'model.parameters.reset');
    expect(trail).toHaveLength(1);
    expect(trail[0]?.details).toMatchObject({ version: 2, from: { temperature: 0.1, eos_token_id: 2 } });
  });

  it('401, 403 (user; not the owner), 404, 409 on a stale If-Match, 400 on a bad one', async () => {
    const m = await model(dev);
    expect((await reset(null, m.id)).statusCode).toBe(401);
    expect((await reset(plain.token, m.id)).json().code).toBe('permission_denied');
    const notOwner = await reset(other.token, m.id);
    expect(notOwner.statusCode).toBe(403);
    expect(notOwner.json().code).toBe('not_model_owner');
    expect((await reset(dev.token, 'no-such-model')).statusCode).toBe(404);
    await put(dev.token, m.id, { parameters: { top_k: 3 } });
    const stale = await reset(dev.token, m.id, { 'if-match': '"0"' });
    expect(stale.statusCode).toBe(409);
    expect(stale.json().code).toBe('parameters_conflict');
    expect((await reset(dev.token, m.id, { 'if-match': 'x1' })).statusCode).toBe(400);
    expect((await get(dev.token, m.id)).json().parameters.top_k).toBe(3);
    expect((await reset(t.admin.token, m.id, { 'if-match': '"1"' })).statusCode).toBe(200);
  });

  it('parameters go with their model', async () => {
    const m = await model(dev);
    await put(dev.token, m.id, { parameters: { top_k: 3 } });
    expect((await t.as(dev.token, { method: 'DELETE', url: `/api/v1/models/${m.id}` })).statusCode).toBe(200);
    expect((await get(dev.token, m.id)).statusCode).toBe(404);
  });
});

describe('OpenAPI', () => {
  it('documents the three routes and each parameter with its range', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json();
    expect(doc.paths['/api/v1/models/{id}/parameters']?.get).toBeTruthy();
    expect(doc.paths['/api/v1/models/{id}/parameters']?.put).toBeTruthy();
    expect(doc.paths['/api/v1/models/{id}/parameters/reset']?.post).toBeTruthy();
    const schemas = doc.components.schemas;
    expect(schemas.ModelParameters.properties.top_k).toMatchObject({
      type: 'integer',
      minimum: 1,
      maximum: 100,
    });
    expect(schemas.ModelParameters.properties.temperature).toMatchObject({ minimum: 0, maximum: 2 });
    expect(schemas.ModelParameters.additionalProperties).toBe(false);
  });
});
