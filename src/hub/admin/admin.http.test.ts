import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp, type TestUser } from '../../../test/helpers/app.js';

const METRICS_TOKEN = 'metrics-token-0123456789abcdef';
const DAY = 86_400_000;

let t: TestApp;
let developer: TestUser;
let user: TestUser;
let busy: string | null = null;
let releaseModels: (() => void) | null = null;
let modelsStarted: (() => void) | null = null;

beforeAll(async () => {
  t = await createTestApp({ env: { POLAR_METRICS_TOKEN: METRICS_TOKEN } });
  developer = await t.user('developer');
  user = await t.user('user');
  const m = t.app.services.maintenance;
  m.addBusyCheck('test', () => busy);
  m.addCleanupTask('clean_models', {
    name: 'test-blobs',
    async run() {
      if (releaseModels === null) return { bytesFreed: 42 };
      modelsStarted?.();
      await new Promise<void>((resolve) => {
        releaseModels = resolve;
      });
      return { bytesFreed: 0 };
    },
  });
});
afterAll(async () => t?.close());

const dir = (name: string) => join(t.dataDir, name);
const put = (path: string, bytes: number, ageDays = 0) => {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, Buffer.alloc(bytes, 'x'));
  const at = new Date(Date.now() - ageDays * DAY);
  utimesSync(path, at, at);
};
const post = (url: string, payload?: unknown, token = t.admin.token) =>
  t.as(token, { method: 'POST', url, ...(payload === undefined ? {} : { payload: payload as object }) });
const lastAudit = async (action: string) =>
  (await t.as(t.admin.token, { method: 'GET', url: `/api/v1/audit?action=${action}&limit=1` })).json()
    .items[0];

const ROUTES = [
  { method: 'GET', url: '/api/v1/admin/system-status' },
  { method: 'POST', url: '/api/v1/admin/cleanup', payload: { operations: ['clean_temp'] } },
  { method: 'POST', url: '/api/v1/admin/purge-logs', payload: {} },
] as const;

describe('access', () => {
  for (const r of ROUTES) {
    it(`${r.method} ${r.url}: admin only`, async () => {
      const opts = { method: r.method, url: r.url, ...('payload' in r ? { payload: r.payload } : {}) };
      for (const u of [developer, user]) {
        const res = await t.as(u.token, opts);
        expect(res.statusCode).toBe(403);
        expect(res.json().code).toBe('permission_denied');
      }
      // The metrics token is valid only on /metrics.
      expect((await t.as(METRICS_TOKEN, opts)).statusCode).toBe(401);
      const anon = await t.app.inject(opts);
      expect(anon.statusCode).toBe(401);
      expect(anon.headers['content-type']).toContain('application/problem+json');
      expect((await t.as(t.admin.token, opts)).statusCode).toBe(200);
    });
  }
});

describe('GET /admin/system-status', () => {
  it('reports disk, memory, model and last cleanup with seed 003 fields, and audits', async () => {
    const res = await t.as(t.admin.token, { method: 'GET', url: '/api/v1/admin/system-status' });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(Object.keys(body).sort()).toEqual([
      'disk_usage',
      'last_cleanup',
      'memory_usage',
      'model_status',
      'status',
    ]);
    expect(body.status).toMatch(/^(healthy|warning|critical)$/);
    for (const u of [body.disk_usage, body.memory_usage]) {
      expect(Object.keys(u).sort()).toEqual(['free', 'total', 'usage_percent', 'used']);
      expect(u.total).toBeGreaterThan(0);
      expect(u.used).toBeGreaterThan(0);
      expect(u.usage_percent).toBeGreaterThan(0);
      expect(u.usage_percent).toBeLessThanOrEqual(100);
    }
    expect(body.memory_usage.used + body.memory_usage.free).toBe(body.memory_usage.total);
    expect(body.model_status).toEqual({ loaded_model: null, model_memory_usage: 0 });
    expect(await lastAudit('admin.system_status')).toMatchObject({
      actor_name: 'admin',
      outcome: 'success',
      target_type: 'system',
    });
  });

  it('shows the loaded model a runtime reports and the last cleanup time', async () => {
    t.app.services.maintenance.setModelStatusSource(() => ({
      loaded_model: 'tiny',
      model_memory_usage: 2048,
    }));
    const cleanup = (await post('/api/v1/admin/cleanup', { operations: ['clean_cache'] })).json();
    const body = (await t.as(t.admin.token, { method: 'GET', url: '/api/v1/admin/system-status' })).json();
    expect(body.model_status).toEqual({ loaded_model: 'tiny', model_memory_usage: 2048 });
    expect(body.last_cleanup).toBe(cleanup.started_at);
  });
});

describe('POST /admin/cleanup', () => {
  beforeEach(() => {
    for (const d of ['tmp', 'cache', 'logs']) rmSync(dir(d), { recursive: true, force: true });
    put(join(dir('tmp'), 'upload', 'part-1'), 1000);
    put(join(dir('tmp'), 'a.bin'), 500);
    put(join(dir('cache'), 'c.bin'), 700);
    put(join(dir('logs'), 'polar.2026-01-01.1.log'), 300, 10);
    put(join(dir('logs'), 'polar.2026-01-02.1.log'), 200, 9);
    put(join(dir('logs'), 'polar.2026-01-03.1.log'), 100, 0);
  });

  it('clean_temp empties the temp folder only', async () => {
    const res = await post('/api/v1/admin/cleanup', { operations: ['clean_temp'] });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({
      status: 'success',
      operations_completed: ['clean_temp'],
      space_freed: 1500,
    });
    expect(Object.keys(body).sort()).toEqual([
      'message',
      'operations_completed',
      'space_freed',
      'started_at',
      'status',
    ]);
    expect(Date.parse(body.started_at)).not.toBeNaN();
    expect(readdirSync(dir('tmp'))).toEqual([]);
    expect(readdirSync(dir('cache'))).toEqual(['c.bin']);
    expect(readdirSync(dir('logs'))).toHaveLength(3);
  });

  it('full_cleanup runs every operation, keeps the active log, and includes registered tasks', async () => {
    const body = (await post('/api/v1/admin/cleanup', { operations: ['full_cleanup'], force: false })).json();
    expect(body.status).toBe('success');
    expect([...body.operations_completed].sort()).toEqual([
      'clean_cache',
      'clean_logs',
      'clean_models',
      'clean_temp',
    ]);
    expect(body.space_freed).toBe(1500 + 700 + 500 + 42);
    expect(readdirSync(dir('logs'))).toEqual(['polar.2026-01-03.1.log']);
    expect(await lastAudit('admin.cleanup')).toMatchObject({
      outcome: 'success',
      details: { operations_completed: body.operations_completed, space_freed: body.space_freed },
    });
  });

  it('succeeds with nothing to free when the folders do not exist', async () => {
    for (const d of ['tmp', 'cache', 'logs']) rmSync(dir(d), { recursive: true, force: true });
    const body = (
      await post('/api/v1/admin/cleanup', { operations: ['clean_temp', 'clean_cache', 'clean_logs'] })
    ).json();
    expect(body).toMatchObject({ status: 'success', space_freed: 0 });
  });

  it('never follows a link out of the data dir', async () => {
    const outside = join(t.dataDir, '..', `polar-outside-${Date.now()}`);
    mkdirSync(outside);
    try {
      put(join(outside, 'precious'), 10);
      symlinkSync(outside, join(dir('cache'), 'escape'));
      rmSync(dir('tmp'), { recursive: true });
      symlinkSync(outside, dir('tmp'));
      const body = (
        await post('/api/v1/admin/cleanup', { operations: ['clean_cache', 'clean_temp'] })
      ).json();
      expect(body.status).toBe('error');
      expect(body.operations_completed).toEqual(['clean_cache']);
      expect(body.message).toContain('tmp is a symbolic link');
      expect(existsSync(join(outside, 'precious'))).toBe(true);
      expect(readdirSync(dir('cache'))).toEqual([]);
      expect(await lastAudit('admin.cleanup')).toMatchObject({ outcome: 'failure' });
    } finally {
      rmSync(dir('tmp'), { force: true });
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('refuses while the node is busy unless forced', async () => {
    busy = '3 generations in progress';
    try {
      const res = await post('/api/v1/admin/cleanup', { operations: ['clean_temp'] });
      expect(res.statusCode).toBe(409);
      expect(res.json()).toMatchObject({ code: 'system_busy' });
      expect(res.json().detail).toContain('3 generations in progress');
      expect(readdirSync(dir('tmp'))).not.toEqual([]);
      expect(await lastAudit('admin.cleanup')).toMatchObject({
        outcome: 'failure',
        details: { reason: 'system_busy' },
      });
      const forced = await post('/api/v1/admin/cleanup', { operations: ['clean_temp'], force: true });
      expect(forced.statusCode).toBe(200);
      expect(forced.json().status).toBe('success');
    } finally {
      busy = null;
    }
  });

  it('runs one at a time: a second cleanup or purge meanwhile gets 409 cleanup_running', async () => {
    const started = new Promise<void>((resolve) => {
      modelsStarted = resolve;
    });
    releaseModels = () => {};
    const first = post('/api/v1/admin/cleanup', { operations: ['clean_models'] });
    await started;
    const second = await post('/api/v1/admin/cleanup', { operations: ['clean_temp'] });
    expect(second.statusCode).toBe(409);
    expect(second.json().code).toBe('cleanup_running');
    const purge = await post('/api/v1/admin/purge-logs', {});
    expect(purge.statusCode).toBe(409);
    expect(purge.json().code).toBe('cleanup_running');
    releaseModels();
    releaseModels = null;
    modelsStarted = null;
    expect((await first).statusCode).toBe(200);
    expect((await post('/api/v1/admin/cleanup', { operations: ['clean_temp'] })).statusCode).toBe(200);
  });

  it.each([
    ['an unknown operation', { operations: ['clean_everything'] }],
    ['no operations', { operations: [] }],
    ['a missing operations field', { force: true }],
    ['operations of the wrong type', { operations: 'clean_temp' }],
    ['force of the wrong type', { operations: ['clean_temp'], force: 'yes' }],
    ['an unknown field', { operations: ['clean_temp'], everything: true }],
  ])('refuses %s with 400', async (_label, payload) => {
    const res = await post('/api/v1/admin/cleanup', payload);
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('validation_error');
    expect(readdirSync(dir('tmp'))).not.toEqual([]);
  });

  it('refuses bad JSON and an empty body with 400', async () => {
    const bad = await t.as(t.admin.token, {
      method: 'POST',
      url: '/api/v1/admin/cleanup',
      headers: { 'content-type': 'application/json' },
      payload: '{"operations": [',
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('invalid_json');
    expect((await post('/api/v1/admin/cleanup')).statusCode).toBe(400);
  });
});

describe('POST /admin/purge-logs', () => {
  beforeEach(() => {
    rmSync(dir('logs'), { recursive: true, force: true });
    mkdirSync(dir('logs'));
    const lines = (...levels: number[]) => levels.map((l) => `{"level":${l},"msg":"m${l}"}\n`).join('');
    const write = (name: string, content: string, ageDays: number) => {
      const path = join(dir('logs'), name);
      writeFileSync(path, content);
      const at = new Date(Date.now() - ageDays * DAY);
      utimesSync(path, at, at);
    };
    write('polar.2026-01-01.1.log', lines(20, 30, 40), 40);
    write('polar.2026-01-02.1.log', lines(20, 20), 35);
    write('polar.2026-02-20.1.log', lines(30), 5);
    write('polar.2026-02-25.1.log', lines(20, 50), 0);
  });

  it('with defaults keeps the newest 100 files, so removes nothing here', async () => {
    const res = await post('/api/v1/admin/purge-logs');
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ status: 'success', files_removed: 0, space_freed: 0 });
    expect(Object.keys(body).sort()).toEqual([
      'files_removed',
      'message',
      'purged_at',
      'space_freed',
      'status',
    ]);
    expect(readdirSync(dir('logs'))).toHaveLength(4);
  });

  it('removes files older than older_than_days beyond keep_latest_files, and audits', async () => {
    const body = (
      await post('/api/v1/admin/purge-logs', { older_than_days: 30, keep_latest_files: 1 })
    ).json();
    expect(body).toMatchObject({ status: 'success', files_removed: 2 });
    expect(body.space_freed).toBeGreaterThan(0);
    expect(readdirSync(dir('logs')).sort()).toEqual(['polar.2026-02-20.1.log', 'polar.2026-02-25.1.log']);
    expect(await lastAudit('admin.purge_logs')).toMatchObject({
      outcome: 'success',
      details: { older_than_days: 30, keep_latest_files: 1, files_removed: 2 },
    });
  });

  it('with log_levels removes only those lines (names in any case)', async () => {
    const body = (
      await post('/api/v1/admin/purge-logs', {
        older_than_days: 0,
        keep_latest_files: 0,
        log_levels: ['debug', 'INFO'],
      })
    ).json();
    expect(body.status).toBe('success');
    // 2026-01-02 held only debug lines, 2026-02-20 only info: both emptied and removed.
    expect(body.files_removed).toBe(2);
    const left = readdirSync(dir('logs')).sort();
    expect(left).toEqual(['polar.2026-01-01.1.log', 'polar.2026-02-25.1.log']);
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(join(dir('logs'), 'polar.2026-01-01.1.log'), 'utf8')).toBe(
      '{"level":40,"msg":"m40"}\n',
    );
    // The active file is never rewritten.
    expect(readFileSync(join(dir('logs'), 'polar.2026-02-25.1.log'), 'utf8')).toContain('"level":20');
  });

  it.each([
    ['a negative age', { older_than_days: -1 }],
    ['a fractional count', { keep_latest_files: 1.5 }],
    ['a string age', { older_than_days: '30' }],
    ['an unknown level', { log_levels: ['VERBOSE'] }],
    ['an empty level list', { log_levels: [] }],
    ['levels of the wrong type', { log_levels: 'DEBUG' }],
    ['an unknown field', { path: '/etc' }],
  ])('refuses %s with 400', async (_label, payload) => {
    const res = await post('/api/v1/admin/purge-logs', payload);
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('validation_error');
    expect(readdirSync(dir('logs'))).toHaveLength(4);
  });
});

describe('OpenAPI', () => {
  it('documents the admin, health and metrics routes with their schemas', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    for (const p of [
      '/api/v1/admin/system-status',
      '/health/ready',
      '/health/detailed',
      '/metrics',
      '/api/v1/health',
    ])
      expect(doc.paths[p], p).toBeTruthy();
    const purge = doc.paths['/api/v1/admin/purge-logs'].post.requestBody.content['application/json'].schema;
    expect(JSON.stringify(purge)).toContain('keep_latest_files');
    const cleanup = doc.paths['/api/v1/admin/cleanup'].post.requestBody.content['application/json'].schema;
    expect(JSON.stringify(cleanup)).toContain('full_cleanup');
  });
});
