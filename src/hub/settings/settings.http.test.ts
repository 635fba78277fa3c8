import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createTestApp, type TestApp, type TestUser } from '../../../test/helpers/app.js';
import { defineSection, secret, securitySettings } from './registry.js';

/** A section with a secret, as Core will declare for provider keys. */
const provider = defineSection({
  scope: 'testing',
  section: 'provider',
  description: 'A provider with a key',
  schema: z.strictObject({
    api_key: secret().optional().describe('Provider key'),
    region: z.enum(['eu', 'us']).default('eu'),
  }),
});
const SECRET = 'sk-test-Zq81-very-secret-value-55aa';

let t: TestApp;
let dev: TestUser;
let plain: TestUser;
beforeAll(async () => {
  t = await createTestApp({ deps: { settingsSections: [provider] } });
  dev = await t.user('developer');
  plain = await t.user('user');
});
afterAll(async () => t?.close());

const put = (token: string | null, path: string, payload: unknown, headers: Record<string, string> = {}) =>
  t.as(token, { method: 'PUT', url: `/api/v1/settings/${path}`, payload: payload as object, headers });
const get = (token: string | null, path: string) =>
  t.as(token, { method: 'GET', url: `/api/v1/settings${path}` });

describe('every route × role', () => {
  const routes: Array<{ method: 'GET' | 'PUT'; url: string; payload?: object }> = [
    { method: 'GET', url: '/api/v1/settings/schema' },
    { method: 'GET', url: '/api/v1/settings/audit' },
    { method: 'GET', url: '/api/v1/settings' },
    { method: 'GET', url: '/api/v1/settings/security' },
    { method: 'GET', url: '/api/v1/settings/security/auth' },
    { method: 'PUT', url: '/api/v1/settings/events/retention', payload: {} },
    { method: 'GET', url: '/api/v1/settings/security/auth/history' },
  ];

  it.each(routes)('$method $url: admin 200, developer and user 403, anonymous 401', async (r) => {
    const opts = { method: r.method, url: r.url, ...(r.payload ? { payload: r.payload } : {}) };
    expect((await t.as(t.admin.token, opts)).statusCode).toBe(200);
    for (const u of [dev, plain]) {
      const res = await t.as(u.token, opts);
      expect(res.statusCode).toBe(403);
      expect(res.headers['content-type']).toContain('application/problem+json');
    }
    const anon = await t.as(null, opts);
    expect(anon.statusCode).toBe(401);
    expect(anon.json().code).toBe('unauthorized');
  });
});

describe('reading', () => {
  it('schema lists every section with types, defaults, bounds and secret flags (not swallowed by :scope)', async () => {
    const res = await get(t.admin.token, '/schema');
    expect(res.statusCode).toBe(200);
    const items = res.json().items as Array<{
      scope: string;
      section: string;
      fields: Array<{ name: string }>;
    }>;
    // Domains add their own sections (Core, Forge…): these must be there, in scope/section order.
    const names = items.map((s) => `${s.scope}/${s.section}`);
    expect(names).toEqual([...names].sort());
    expect(names).toEqual(
      expect.arrayContaining([
        'events/retention',
        'forge/datasets',
        'logging/general',
        'registry/storage',
        'security/auth',
        'serving/runtime',
        'testing/provider',
      ]),
    );
    const auth = items.find((s) => s.section === 'auth')!;
    expect(auth.fields.find((f) => f.name === 'login_per_minute')).toEqual({
      name: 'login_per_minute',
      type: 'integer',
      description: 'Login attempts per minute per client IP',
      default: 10,
      min: 1,
      max: 10_000,
      enum: null,
      nullable: false,
      secret: false,
    });
    const logging = items.find((s) => s.scope === 'logging')!;
    expect(logging.fields[0]).toMatchObject({
      name: 'level',
      enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace'],
    });
    expect(items.find((s) => s.scope === 'testing')!.fields[0]).toMatchObject({
      name: 'api_key',
      secret: true,
    });
  });

  it('answers all sections, one scope, one section with its version as ETag', async () => {
    const all = await get(t.admin.token, '');
    const schema = await get(t.admin.token, '/schema');
    expect(all.json().items).toHaveLength(schema.json().items.length);
    expect(all.json().next_cursor).toBeNull();
    const scope = await get(t.admin.token, '/security');
    expect(scope.json().items.map((s: { section: string }) => s.section)).toEqual(['auth']);
    const one = await get(t.admin.token, '/security/auth');
    // The test helper raises the login limit through base values.
    expect(one.json()).toMatchObject({
      scope: 'security',
      section: 'auth',
      values: { login_per_minute: 10_000, api_per_minute: 6000, session_ttl_hours: 168 },
    });
    expect(one.headers.etag).toBe(`"${one.json().version}"`);
  });

  it('unknown scope or section is 404 with a stable code; malformed names are 400', async () => {
    const section = await get(t.admin.token, '/security/nope');
    expect(section.statusCode).toBe(404);
    expect(section.json().code).toBe('settings_section_not_found');
    expect((await put(t.admin.token, 'security/nope', { a: 1 })).json().code).toBe(
      'settings_section_not_found',
    );
    expect((await get(t.admin.token, '/security/nope/history')).statusCode).toBe(404);
    const scope = await get(t.admin.token, '/nowhere');
    expect(scope.statusCode).toBe(404);
    expect(scope.json().code).toBe('settings_scope_not_found');
    const bad = await get(t.admin.token, '/Security/..');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('validation_error');
  });

  it('the OpenAPI document has every settings route and the shared schemas', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json();
    for (const p of [
      '/api/v1/settings',
      '/api/v1/settings/schema',
      '/api/v1/settings/audit',
      '/api/v1/settings/{scope}',
      '/api/v1/settings/{scope}/{section}',
      '/api/v1/settings/{scope}/{section}/history',
    ]) {
      expect(doc.paths[p], p).toBeDefined();
    }
    expect(doc.paths['/api/v1/settings/{scope}/{section}'].put).toBeDefined();
    expect(Object.keys(doc.components.schemas)).toEqual(
      expect.arrayContaining(['SettingsSection', 'SettingsChange', 'SettingsField']),
    );
  });
});

describe('updating', () => {
  it('merges, answers the new values and version, and records history and audit', async () => {
    const before = (await get(t.admin.token, '/events/retention')).json();
    const res = await put(t.admin.token, 'events/retention', { keep_hours: 24 });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ values: { keep_hours: 24 }, version: before.version + 1 });
    expect(res.headers.etag).toBe(`"${before.version + 1}"`);
    const history = (await get(t.admin.token, '/events/retention/history')).json();
    expect(history.items[0]).toMatchObject({
      version: before.version + 1,
      changes: { keep_hours: { from: 72, to: 24 } },
      changed_by: t.admin.id,
      changed_by_name: 'admin',
      request_id: res.headers['x-request-id'],
    });
    const audit = await t.as(t.admin.token, { method: 'GET', url: '/api/v1/audit?action=settings.update' });
    expect(audit.json().items[0]).toMatchObject({
      actor_id: t.admin.id,
      target_type: 'settings',
      target_id: 'events/retention',
      details: { changed: ['keep_hours'] },
    });
    const across = (await get(t.admin.token, '/audit?scope=events')).json();
    expect(across.items.every((h: { scope: string }) => h.scope === 'events')).toBe(true);
    expect(across.items.length).toBeGreaterThan(0);
  });

  it('refuses wrong types, out-of-range values, unknown fields and non-object bodies with 400', async () => {
    const types = await put(t.admin.token, 'security/auth', { api_per_minute: 'lots' });
    expect(types.statusCode).toBe(400);
    expect(types.json()).toMatchObject({
      code: 'validation_error',
      errors: [{ path: 'body.api_per_minute' }],
    });
    const range = await put(t.admin.token, 'security/auth', { session_ttl_hours: 0 });
    expect(range.json().errors[0].path).toBe('body.session_ttl_hours');
    const unknown = await put(t.admin.token, 'security/auth', { api_per_minute: 5, is_admin: true });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json()).toMatchObject({
      code: 'unknown_setting_field',
      errors: [{ path: 'body.is_admin' }],
    });
    expect(unknown.json().detail).toContain('is_admin');
    for (const body of [[1, 2], '"text"', 'null']) {
      const res = await t.as(t.admin.token, {
        method: 'PUT',
        url: '/api/v1/settings/security/auth',
        headers: { 'content-type': 'application/json' },
        payload: typeof body === 'string' ? body : JSON.stringify(body),
      });
      expect(res.statusCode, String(body)).toBe(400);
    }
    expect((await get(t.admin.token, '/security/auth')).json().values.api_per_minute).toBe(6000);
  });

  it('honours If-Match and ?version: a stale version is 409, a malformed one 400', async () => {
    const cur = await get(t.admin.token, '/logging/general');
    const v = cur.json().version as number;
    const stale = await put(
      t.admin.token,
      'logging/general',
      { level: 'debug' },
      { 'if-match': `"${v + 5}"` },
    );
    expect(stale.statusCode).toBe(409);
    expect(stale.json().code).toBe('settings_version_conflict');
    const staleQuery = await t.as(t.admin.token, {
      method: 'PUT',
      url: `/api/v1/settings/logging/general?version=${v + 1}`,
      payload: { level: 'debug' },
    });
    expect(staleQuery.statusCode).toBe(409);
    const malformed = await put(
      t.admin.token,
      'logging/general',
      { level: 'debug' },
      { 'if-match': 'yesterday' },
    );
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().code).toBe('invalid_if_match');
    const ok = await put(
      t.admin.token,
      'logging/general',
      { level: 'info' },
      { 'if-match': cur.headers.etag! },
    );
    expect(ok.statusCode).toBe(200);
  });
});

describe('secrets', () => {
  it('are never returned, logged, audited or kept in history in full; the mask sent back keeps them', async () => {
    const set = await put(t.admin.token, 'testing/provider', { api_key: SECRET });
    expect(set.statusCode).toBe(200);
    expect(set.json().values.api_key).toBe('••••55aa');
    expect(t.app.services.settings.get(provider).api_key).toBe(SECRET);

    const again = await put(t.admin.token, 'testing/provider', { ...set.json().values, region: 'us' });
    expect(again.statusCode).toBe(200);
    expect(t.app.services.settings.get(provider)).toEqual({ api_key: SECRET, region: 'us' });
    const otherMask = await put(t.admin.token, 'testing/provider', { api_key: '••••0000' });
    expect(otherMask.json().code).toBe('secret_is_mask');

    const bodies = await Promise.all(
      ['', '/testing', '/testing/provider', '/testing/provider/history', '/audit', '/schema'].map(
        async (p) => (await get(t.admin.token, p)).body,
      ),
    );
    bodies.push((await t.as(t.admin.token, { method: 'GET', url: '/api/v1/audit?limit=500' })).body);
    bodies.push(set.body, again.body);
    for (const b of bodies) {
      expect(b).not.toContain(SECRET);
      expect(b).not.toContain('very-secret');
    }
    const history = (await get(t.admin.token, '/testing/provider/history')).json();
    expect(history.items.at(-1).changes.api_key).toEqual({ from: null, to: '(secret changed)' });
    expect(t.logs.join('\n')).not.toContain(SECRET);
    expect(t.logs.join('\n')).not.toContain('very-secret');

    const row = await t.app.inject({ method: 'GET', url: '/api/v1/settings/testing/provider' });
    expect(row.statusCode).toBe(401);
  });
});

describe('hot reload', () => {
  it('a lower login limit applies to the next login, without restart', async () => {
    const ip = '10.9.9.9';
    const login = () =>
      t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        remoteAddress: ip,
        payload: { username: plain.username, password: plain.password },
      });
    expect((await put(t.admin.token, 'security/auth', { login_per_minute: 2 })).statusCode).toBe(200);
    try {
      expect((await login()).statusCode).toBe(200);
      expect((await login()).statusCode).toBe(200);
      const limited = await login();
      expect(limited.statusCode).toBe(429);
      expect(limited.json().code).toBe('rate_limited');
    } finally {
      await put(t.admin.token, 'security/auth', { login_per_minute: 10_000 });
    }
    expect((await login()).statusCode).toBe(200);
  });

  it('a lower API limit applies to the next request, and raising it again lifts it', async () => {
    const other = await t.user('admin');
    const victim = await t.user('developer');
    const me = () => t.as(victim.token, { method: 'GET', url: '/api/v1/auth/me' });
    expect((await put(other.token, 'security/auth', { api_per_minute: 3 })).statusCode).toBe(200);
    expect(t.app.services.settings.get(securitySettings).api_per_minute).toBe(3);
    try {
      for (let i = 0; i < 3; i++) expect((await me()).statusCode).toBe(200);
      const limited = await me();
      expect(limited.statusCode).toBe(429);
      expect(limited.headers['retry-after']).toBeTruthy();
    } finally {
      expect((await put(other.token, 'security/auth', { api_per_minute: null })).statusCode).toBe(200);
    }
    expect((await me()).statusCode).toBe(200);
  });

  it('logging/general level applies to the app logger at once', async () => {
    const warned = () => t.logs.filter((l) => l.includes('request validation failed')).length;
    const invalid = () => get(t.admin.token, '/BAD');
    expect((await put(t.admin.token, 'logging/general', { level: 'error' })).statusCode).toBe(200);
    try {
      const before = warned();
      expect((await invalid()).statusCode).toBe(400);
      expect(warned()).toBe(before);
    } finally {
      await put(t.admin.token, 'logging/general', { level: 'info' });
    }
    const before = warned();
    await invalid();
    expect(warned()).toBe(before + 1);
  });
});
