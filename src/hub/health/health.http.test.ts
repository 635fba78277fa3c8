import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp, type TestUser } from '../../../test/helpers/app.js';

const METRICS_TOKEN = 'metrics-token-0123456789abcdef';

let t: TestApp;
let developer: TestUser;
let user: TestUser;
beforeAll(async () => {
  t = await createTestApp({ env: { POLAR_METRICS_TOKEN: METRICS_TOKEN } });
  developer = await t.user('developer');
  user = await t.user('user');
});
afterAll(async () => t?.close());

describe('liveness', () => {
  it.each(['/health', '/api/v1/health'])('%s answers ok to anyone', async (url) => {
    const res = await t.app.inject({ method: 'GET', url });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
    expect(res.headers['x-request-id']).toBeTruthy();
  });

  it('ignores a stale or malformed token on a public probe', async () => {
    const res = await t.as('ps_not_a_real_token', { method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(200);
  });
});

describe('readiness', () => {
  it('is ready when the database answers and every migration is applied', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/health/ready' });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.status).toBe('ready');
    expect(body.checks.database.status).toBe('ok');
    const { applied, expected } = body.checks.database.details.migrations;
    expect(expected).toBeGreaterThan(0);
    expect(applied).toBe(expected);
    // Only readiness checks run here; disk and memory belong to the detailed view.
    expect(Object.keys(body.checks)).toEqual(['database']);
  });

  it('answers 503 problem+json with Retry-After when a migration is missing', async () => {
    const real = t.database.migrationStatus;
    t.database.migrationStatus = async () => {
      const s = await real.call(t.database);
      return { applied: s.expected - 1, expected: s.expected };
    };
    try {
      const res = await t.app.inject({ method: 'GET', url: '/health/ready' });
      expect(res.statusCode).toBe(503);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.headers['retry-after']).toBe('5');
      expect(res.json()).toMatchObject({
        status: 503,
        code: 'not_ready',
        errors: [{ path: 'database', message: '1 migration(s) not applied' }],
      });
    } finally {
      t.database.migrationStatus = real;
    }
    expect((await t.app.inject({ method: 'GET', url: '/health/ready' })).statusCode).toBe(200);
  });

  it('answers 503 when the database is closed, while liveness still answers', async () => {
    const other = await createTestApp();
    try {
      await other.database.close();
      const res = await other.app.inject({ method: 'GET', url: '/health/ready' });
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBe('5');
      expect(res.json()).toMatchObject({
        code: 'not_ready',
        errors: [{ path: 'database', message: 'not reachable' }],
      });
      expect((await other.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    } finally {
      await other.app.close();
      await other.database.close().catch(() => {});
    }
  });
});

describe('detailed health', () => {
  it('reports every component with status and latency to an admin', async () => {
    const res = await t.as(t.admin.token, { method: 'GET', url: '/health/detailed' });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.status).toMatch(/^(ok|degraded)$/);
    expect(body.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(body.uptime_seconds).toBeGreaterThanOrEqual(0);
    expect(Date.parse(body.checked_at)).not.toBeNaN();
    expect(Object.keys(body.components).sort()).toEqual(['database', 'disk', 'event_bus', 'memory']);
    for (const c of Object.values(body.components) as { status: string; latency_ms: number }[]) {
      expect(c.status).toMatch(/^(ok|degraded|down)$/);
      expect(c.latency_ms).toBeGreaterThanOrEqual(0);
    }
    const db = body.components.database;
    expect(db.status).toBe('ok');
    expect(db.details.kind).toBe(process.env.POLAR_TEST_DB === 'postgres' ? 'postgres' : 'pglite');
    expect(db.details.migrations.applied).toBe(db.details.migrations.expected);
    expect(body.components.event_bus.status).toBe('ok');
    expect(body.components.disk.details.total).toBeGreaterThan(0);
    expect(body.components.disk.details.path).toBe(t.dataDir);
    expect(body.components.memory.details.process.rss).toBeGreaterThan(0);
  });

  it('lets later components register their own checks', async () => {
    t.app.services.health.register({
      name: 'runtime:test',
      critical: true,
      check: () => ({ status: 'down', message: 'no runtime', details: { loaded: 0 } }),
    });
    const body = (await t.as(t.admin.token, { method: 'GET', url: '/health/detailed' })).json();
    expect(body.components['runtime:test']).toMatchObject({ status: 'down', message: 'no runtime' });
    expect(body.status).toBe('down');
    // Not a readiness check: the node still takes traffic.
    expect((await t.app.inject({ method: 'GET', url: '/health/ready' })).statusCode).toBe(200);
  });

  it('refuses other roles, anonymous callers and the metrics token', async () => {
    for (const u of [developer, user]) {
      const res = await t.as(u.token, { method: 'GET', url: '/health/detailed' });
      expect(res.statusCode).toBe(403);
      expect(res.json().code).toBe('permission_denied');
    }
    const anon = await t.app.inject({ method: 'GET', url: '/health/detailed' });
    expect(anon.statusCode).toBe(401);
    expect(anon.headers['content-type']).toContain('application/problem+json');
    const metrics = await t.as(METRICS_TOKEN, { method: 'GET', url: '/health/detailed' });
    expect(metrics.statusCode).toBe(401);
  });
});

describe.skipIf(!process.env.POLAR_TEST_REDIS_URL)('detailed health with Redis', () => {
  it('pings Redis when it is configured', async () => {
    const redis = new Redis(process.env.POLAR_TEST_REDIS_URL!);
    const withRedis = await createTestApp({ deps: { redis } });
    try {
      const body = (
        await withRedis.as(withRedis.admin.token, { method: 'GET', url: '/health/detailed' })
      ).json();
      expect(body.components.redis).toMatchObject({ status: 'ok', details: { connection: 'ready' } });
    } finally {
      await withRedis.close();
      redis.disconnect();
    }
  });
});
