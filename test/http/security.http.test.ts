import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ env: { POLAR_ALLOWED_HOSTS: 'polar.example', POLAR_BODY_LIMIT: '2048' } });
});
afterAll(async () => t?.close());

describe('host allow-list and origin check', () => {
  it('refuses a Host that is not this node (DNS rebinding)', async () => {
    const res = await t.as(t.admin.token, {
      method: 'GET',
      url: '/api/v1/auth/me',
      headers: { host: 'evil.example:8000' },
    });
    expect(res.statusCode).toBe(421);
    expect(res.json().code).toBe('host_not_allowed');
    for (const host of ['localhost:8000', '127.0.0.1', 'polar.example', 'POLAR.example:443', '[::1]:8000']) {
      const ok = await t.as(t.admin.token, { method: 'GET', url: '/api/v1/auth/me', headers: { host } });
      expect(ok.statusCode, host).toBe(200);
    }
  });

  it('answers liveness and readiness probes whatever the Host (load balancers use the IP)', async () => {
    for (const url of ['/health', '/health/ready']) {
      const res = await t.app.inject({ method: 'GET', url, headers: { host: '10.1.2.3:8000' } });
      expect(res.statusCode, url).toBe(200);
    }
    const detailed = await t.as(t.admin.token, {
      method: 'GET',
      url: '/health/detailed',
      headers: { host: '10.1.2.3' },
    });
    expect(detailed.statusCode).toBe(421);
  });

  it('refuses a foreign Origin, accepts the same origin', async () => {
    const bad = await t.as(t.admin.token, {
      method: 'POST',
      url: '/api/v1/keys',
      headers: { host: 'localhost:8000', origin: 'http://evil.example' },
      payload: { name: 'x' },
    });
    expect(bad.statusCode).toBe(403);
    expect(bad.json().code).toBe('origin_not_allowed');
    const malformed = await t.as(t.admin.token, {
      method: 'GET',
      url: '/api/v1/auth/me',
      headers: { origin: 'not a url' },
    });
    expect(malformed.statusCode).toBe(403);
    const same = await t.as(t.admin.token, {
      method: 'GET',
      url: '/api/v1/auth/me',
      headers: { host: 'localhost:8000', origin: 'http://localhost:8000' },
    });
    expect(same.statusCode).toBe(200);
  });
});

describe('transport hygiene', () => {
  it('sends security headers and a request id on every response', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/auth/me' });
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBeTruthy();
    expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(res.headers['x-request-id']).toBeTruthy();
  });

  it('echoes a safe client request id, replaces an unsafe one', async () => {
    const ok = await t.app.inject({ method: 'GET', url: '/nowhere', headers: { 'x-request-id': 'abc-123' } });
    expect(ok.headers['x-request-id']).toBe('abc-123');
    expect(ok.json().request_id).toBe('abc-123');
    const bad = await t.app.inject({
      method: 'GET',
      url: '/nowhere',
      headers: { 'x-request-id': '<script>\n' },
    });
    expect(bad.headers['x-request-id']).not.toContain('<');
  });

  it('answers 413 problem+json for a body over the limit', async () => {
    const res = await t.as(t.admin.token, {
      method: 'POST',
      url: '/api/v1/users',
      payload: { username: 'big', password: 'x'.repeat(4096) },
    });
    expect(res.statusCode).toBe(413);
    expect(res.json().code).toBe('body_too_large');
  });

  it('answers 415 for a body that is not JSON', async () => {
    const res = await t.as(t.admin.token, {
      method: 'POST',
      url: '/api/v1/keys',
      headers: { 'content-type': 'text/xml' },
      payload: '<key/>',
    });
    expect(res.statusCode).toBe(415);
    expect(res.json().code).toBe('unsupported_media_type');
  });

  it('unknown routes answer 401 to strangers and 404 problem+json to signed-in callers', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/nothing-here' })).statusCode).toBe(401);
    const res = await t.as(t.admin.token, { method: 'GET', url: '/api/v1/nothing-here' });
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe('route_not_found');
  });

  it('serves the OpenAPI document with every API route', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toMatch(/^3\./);
    for (const r of t.app.routeAuth) {
      if (!r.url.startsWith('/api/v1/') || r.method === 'HEAD') continue;
      // @fastify/swagger documents a trailing wildcard as the parameter '{*}'.
      const path = r.url.replace(/:(\w+)/g, '{$1}').replace(/\*$/, '{*}');
      expect(doc.paths[path]?.[r.method.toLowerCase()], `${r.method} ${path}`).toBeTruthy();
    }
    expect((await t.app.inject({ method: 'GET', url: '/docs' })).statusCode).toBeLessThan(400);
  });
});

describe('rate limits', () => {
  it('limits requests per key with 429, Retry-After and x-ratelimit headers', async () => {
    const local = await createTestApp({
      deps: { settingsOverrides: { 'security/auth': { api_per_minute: 5, login_per_minute: 1000 } } },
    });
    try {
      const key = (
        await local.as(local.admin.token, { method: 'POST', url: '/api/v1/keys', payload: { name: 'rl' } })
      ).json().key;
      const codes: number[] = [];
      for (let i = 0; i < 7; i++)
        codes.push((await local.as(key, { method: 'GET', url: '/api/v1/auth/me' })).statusCode);
      expect(codes.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
      const res = await local.as(key, { method: 'GET', url: '/api/v1/auth/me' });
      expect(res.statusCode).toBe(429);
      expect(res.json().code).toBe('rate_limited');
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      expect(res.headers['x-ratelimit-limit']).toBe('5');
      // Another principal has its own budget.
      expect((await local.as(local.admin.token, { method: 'GET', url: '/api/v1/auth/me' })).statusCode).toBe(
        200,
      );
    } finally {
      await local.close();
    }
  });

  it('limits login attempts per client', async () => {
    const local = await createTestApp({
      deps: { settingsOverrides: { 'security/auth': { login_per_minute: 3 } } },
    });
    try {
      const codes: number[] = [];
      for (let i = 0; i < 5; i++) {
        const res = await local.app.inject({
          method: 'POST',
          url: '/api/v1/auth/login',
          payload: { username: 'admin', password: 'wrong-one' },
        });
        codes.push(res.statusCode);
      }
      // createTestApp already signed in once, so two attempts remain in this minute.
      expect(codes).toEqual([401, 401, 429, 429, 429]);
    } finally {
      await local.close();
    }
  });
});

describe.skipIf(!process.env.POLAR_TEST_REDIS_URL)('rate limits shared through Redis', () => {
  it('two nodes count against one limit', async () => {
    const url = process.env.POLAR_TEST_REDIS_URL!;
    const r1 = new Redis(url);
    const r2 = new Redis(url);
    const limits = { 'security/auth': { api_per_minute: 6, login_per_minute: 1000 } };
    const a = await createTestApp({ deps: { redis: r1, settingsOverrides: limits } });
    try {
      const key = (
        await a.as(a.admin.token, { method: 'POST', url: '/api/v1/keys', payload: { name: 'shared' } })
      ).json().key;
      // Node B shares A's database so the key exists there too.
      const { buildApp } = await import('../../src/app.js');
      const pino = (await import('pino')).default;
      const b = await buildApp(a.config, {
        database: a.database,
        logger: pino({ level: 'silent' }),
        masterKey: Buffer.alloc(32, 1),
        redis: r2,
        settingsOverrides: limits,
      });
      await b.ready();
      try {
        const codes: number[] = [];
        for (let i = 0; i < 4; i++) {
          codes.push((await a.as(key, { method: 'GET', url: '/api/v1/auth/me' })).statusCode);
          codes.push(
            (
              await b.inject({
                method: 'GET',
                url: '/api/v1/auth/me',
                headers: { authorization: `Bearer ${key}` },
              })
            ).statusCode,
          );
        }
        expect(codes.filter((c) => c === 200)).toHaveLength(6);
        expect(codes.slice(6)).toEqual([429, 429]);
      } finally {
        await b.close();
      }
    } finally {
      await a.close();
      r1.disconnect();
      r2.disconnect();
    }
  });
});
