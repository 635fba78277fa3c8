import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeProvider, startFakeOpenAI } from '../../../../test/fixtures/fake-provider/index.js';
import { createTestApp, type TestApp } from '../../../../test/helpers/app.js';
import type { Resolver } from '../egress.js';

/**
 * The egress policy with host names: the app resolves upstream names through a staged resolver, so a
 * test can make a name point at the metadata service, or change its answer between the moment a
 * provider is saved and the moment it is used (DNS rebinding).
 */
const KEY = 'sk-egress-5566778899aabbcc';
const dns = new Map<string, string[]>();
const lookups: string[] = [];
const resolver: Resolver = async (host) => {
  lookups.push(host);
  const list = dns.get(host);
  if (!list) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
  return list.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
};

let t: TestApp;
let fake: FakeProvider;
let port: string;

beforeAll(async () => {
  fake = await startFakeOpenAI({ apiKey: KEY });
  port = new URL(fake.url).port;
  t = await createTestApp({ env: { POLAR_EGRESS_ALLOW: '127.0.0.0/8' }, deps: { gateway: { resolver } } });
});
afterAll(async () => {
  await t?.close();
  await fake?.close();
});

const create = (name: string, host: string) =>
  t.as(t.admin.token, {
    method: 'POST',
    url: '/api/v1/providers',
    payload: { name, kind: 'openai', base_url: `http://${host}:${port}/v1`, api_key: KEY },
  });

describe('host names at save time', () => {
  it.each([
    ['metadata.test', ['169.254.169.254'], /metadata\.test resolves to 169\.254\.169\.254 is link-local/],
    ['mixed.test', ['127.0.0.1', '169.254.169.254'], /169\.254\.169\.254/],
    ['mapped.test', ['::ffff:169.254.169.254'], /::ffff:169\.254\.169\.254 \(169\.254\.169\.254\)/],
    ['internal.test', ['10.0.0.9'], /10\.0\.0\.9 is private; list it/],
  ])('refuses %s (resolving to %j)', async (host, addresses, reason) => {
    dns.set(host, addresses);
    const res = await create(host.replace('.', '-'), host);
    expect([res.statusCode, res.json().code], res.body).toEqual([400, 'egress_denied']);
    expect(res.json().errors[0]).toMatchObject({
      path: 'body.base_url',
      message: expect.stringMatching(reason),
    });
  });

  it('accepts a name that resolves to an allowed address, and uses the resolver to connect', async () => {
    dns.set('upstream.test', ['127.0.0.1']);
    const res = await create('by-name', 'upstream.test');
    expect(res.statusCode, res.body).toBe(201);
    lookups.length = 0;
    const test = await t.as(t.admin.token, {
      method: 'POST',
      url: `/api/v1/providers/${res.json().id}/test`,
    });
    expect(test.json()).toMatchObject({ ok: true });
    expect(lookups).toContain('upstream.test');
    expect(fake.requests.at(-1)?.headers.host).toBe(`upstream.test:${port}`);
  });
});

describe('at connect time', () => {
  it('refuses a name that rebinds to the metadata address after it was saved', async () => {
    dns.set('rebind.test', ['127.0.0.1']);
    const saved = await create('rebind', 'rebind.test');
    expect(saved.statusCode, saved.body).toBe(201);
    const id = saved.json().id as string;
    dns.set('rebind.test', ['169.254.169.254']);
    const before = fake.requests.length;
    const test = await t.as(t.admin.token, { method: 'POST', url: `/api/v1/providers/${id}/test` });
    expect(test.json()).toMatchObject({ ok: false, error: { code: 'egress_denied' } });
    expect(test.json().error.message).toMatch(/rebind\.test resolves to 169\.254\.169\.254/);
    const models = await t.as(t.admin.token, { method: 'GET', url: `/api/v1/providers/${id}/models` });
    expect([models.statusCode, models.json().code]).toEqual([502, 'egress_denied']);
    const reg = await t.as(t.admin.token, {
      method: 'POST',
      url: `/api/v1/providers/${id}/models/register`,
      payload: { model: 'gpt-x' },
    });
    expect([reg.statusCode, reg.json().code]).toEqual([502, 'egress_denied']);
    expect(fake.requests.length).toBe(before);
    // Back to an allowed answer, the same provider works again: nothing was cached as trusted.
    dns.set('rebind.test', ['127.0.0.1']);
    const ok = await t.as(t.admin.token, { method: 'POST', url: `/api/v1/providers/${id}/test` });
    expect(ok.json().ok).toBe(true);
  });

  it('never follows a redirect to the metadata service', async () => {
    dns.set('redirecting.test', ['127.0.0.1']);
    const { id } = (await create('redirecting', 'redirecting.test')).json();
    fake.setMode({ kind: 'redirect-to', url: 'http://169.254.169.254/latest/meta-data/iam/' });
    try {
      const test = await t.as(t.admin.token, { method: 'POST', url: `/api/v1/providers/${id}/test` });
      expect(test.json()).toMatchObject({
        ok: false,
        error: { code: 'upstream_redirect', upstream_status: 302 },
      });
      expect(test.json().error.message).toContain('http://169.254.169.254');
      const models = await t.as(t.admin.token, { method: 'GET', url: `/api/v1/providers/${id}/models` });
      expect([models.statusCode, models.json().code]).toEqual([502, 'upstream_redirect']);
    } finally {
      fake.setMode({ kind: 'ok' });
    }
  });

  it('keeps the key out of every log line', () => {
    expect(t.logs.join('\n')).not.toContain(KEY);
    expect(fake.requests.some((r) => r.headers.authorization === `Bearer ${KEY}`)).toBe(true);
  });
});
