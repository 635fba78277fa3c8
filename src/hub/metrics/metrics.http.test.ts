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

const scrape = async (token = t.admin.token) => {
  const res = await t.as(token, { method: 'GET', url: '/metrics' });
  expect(res.statusCode).toBe(200);
  return res.body;
};

/** The value of one series, 0 when absent. */
const value = (text: string, series: string) => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
};

describe('GET /metrics', () => {
  it('answers Prometheus text to an admin', async () => {
    const res = await t.as(t.admin.token, { method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.body).toContain('# TYPE polar_http_requests_total counter');
    expect(res.body).toContain('# TYPE polar_http_request_duration_seconds histogram');
    expect(res.body).toContain('process_resident_memory_bytes');
    expect(res.body).toContain('polar_users{role="admin",disabled="false"} 1');
    expect(res.body).toContain('polar_users{role="developer",disabled="false"} 1');
    expect(value(res.body, 'polar_sessions_active')).toBeGreaterThanOrEqual(3);
  });

  it('counts requests by route pattern and status after a few requests', async () => {
    const series = 'polar_http_requests_total{method="GET",route="/api/v1/users/:id",status_code="200"}';
    const missing = 'polar_http_requests_total{method="GET",route="/api/v1/users/:id",status_code="404"}';
    const before = await scrape();
    for (let i = 0; i < 3; i++) {
      const res = await t.as(t.admin.token, { method: 'GET', url: `/api/v1/users/${user.id}` });
      expect(res.statusCode).toBe(200);
    }
    await t.as(t.admin.token, { method: 'GET', url: '/api/v1/users/nobody-here' });
    const after = await scrape();
    expect(value(after, series) - value(before, series)).toBe(3);
    expect(value(after, missing) - value(before, missing)).toBe(1);
    // The pattern, never the concrete id: label cardinality stays bounded.
    expect(after).not.toContain(user.id);
    expect(after).not.toContain('nobody-here');
    const count =
      'polar_http_request_duration_seconds_count{method="GET",route="/api/v1/users/:id",status_code="200"}';
    expect(value(after, count) - value(before, count)).toBe(3);
  });

  it('labels unmatched URLs as one series and counts refusals', async () => {
    const before = await scrape();
    await t.as(t.admin.token, { method: 'GET', url: '/no/such/route-a1b2' });
    await t.as(t.admin.token, { method: 'GET', url: '/no/such/route-c3d4?x=1' });
    await t.app.inject({ method: 'GET', url: '/api/v1/users' });
    const after = await scrape();
    const unmatched = 'polar_http_requests_total{method="GET",route="(unmatched)",status_code="404"}';
    expect(value(after, unmatched) - value(before, unmatched)).toBe(2);
    expect(after).not.toContain('route-a1b2');
    const denied = 'polar_http_requests_total{method="GET",route="/api/v1/users",status_code="401"}';
    expect(value(after, denied) - value(before, denied)).toBe(1);
  });

  it('lets the metrics token scrape, and nothing else', async () => {
    expect(await scrape(METRICS_TOKEN)).toContain('polar_http_requests_total');
    for (const url of [
      '/api/v1/users',
      '/api/v1/admin/system-status',
      '/health/detailed',
      '/api/v1/audit',
      '/api/v1/auth/me',
    ]) {
      const res = await t.as(METRICS_TOKEN, { method: 'GET', url });
      expect(res.statusCode, url).toBe(401);
      expect(res.json().code, url).toBe('invalid_token');
    }
    const write = await t.as(METRICS_TOKEN, {
      method: 'POST',
      url: '/api/v1/admin/cleanup',
      payload: { operations: ['clean_temp'] },
    });
    expect(write.statusCode).toBe(401);
  });

  it('refuses other roles and anonymous callers', async () => {
    for (const u of [developer, user]) {
      const res = await t.as(u.token, { method: 'GET', url: '/metrics' });
      expect(res.statusCode).toBe(403);
      expect(res.json().code).toBe('permission_denied');
    }
    const anon = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(anon.statusCode).toBe(401);
    const wrong = await t.as('metrics-token-0123456789abcdeX', { method: 'GET', url: '/metrics' });
    expect(wrong.statusCode).toBe(401);
  });
});
