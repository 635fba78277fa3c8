import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLE_PERMISSIONS, type Role } from '../../src/hub/auth/permissions.js';
import { createTestApp, type TestApp } from '../helpers/app.js';

/**
 * Sweeps every registered route × every role: anonymous callers get 401 on anything not public, a
 * role without the route's permission gets 403 permission_denied, a role with it is never refused
 * for permission. New routes are covered the moment they are registered.
 */
let t: TestApp;
const keys: Partial<Record<Role, string>> = {};

beforeAll(async () => {
  t = await createTestApp();
  for (const role of ['admin', 'developer', 'user'] as Role[]) {
    const u = role === 'admin' ? t.admin : await t.user(role);
    const res = await t.as(u.token, {
      method: 'POST',
      url: '/api/v1/keys',
      payload: { name: `sweep-${role}` },
    });
    keys[role] = res.json().key;
  }
});
afterAll(async () => t?.close());

const concrete = (url: string) => url.replace(/:(\w+)/g, 'sweep-$1').replace(/\*$/, 'x');
/** The OpenAI-compatible API (/v1/) answers errors in OpenAI's shape, everything else in problem+json. */
const openai = (url: string) => url.startsWith('/v1/');
const codeOf = (url: string, body: { code?: string; error?: { code?: string } }) =>
  openai(url) ? body.error?.code : body.code;

describe('every route × every role', () => {
  it('has routes to sweep', () => {
    expect(t.app.routeAuth.length).toBeGreaterThan(10);
    for (const r of t.app.routeAuth) expect(r.auth, `${r.method} ${r.url}`).toBeTruthy();
  });

  it('anonymous callers get 401 on every non-public route', async () => {
    for (const r of t.app.routeAuth) {
      if (r.auth === 'public' || r.method === 'HEAD' || r.websocket) continue;
      const res = await t.app.inject({
        method: r.method as 'GET',
        url: concrete(r.url),
        payload: r.method === 'GET' ? undefined : {},
      });
      expect(res.statusCode, `${r.method} ${r.url}`).toBe(401);
      expect(res.headers['content-type'], `${r.method} ${r.url}`).toContain(
        openai(r.url) ? 'application/json' : 'application/problem+json',
      );
      expect(codeOf(r.url, res.json()), `${r.method} ${r.url}`).toBe('unauthorized');
    }
  });

  for (const role of ['admin', 'developer', 'user'] as Role[]) {
    it(`${role}: allowed exactly where the role has the permission`, async () => {
      const granted = new Set<string>(ROLE_PERMISSIONS[role]);
      for (const r of t.app.routeAuth) {
        if (r.auth === 'public' || r.method === 'HEAD' || r.websocket || r.url === '/api/v1/auth/logout')
          continue;
        const res = await t.as(keys[role]!, {
          method: r.method as 'GET',
          url: concrete(r.url),
          payload: r.method === 'GET' || r.method === 'DELETE' ? undefined : {},
        });
        const label = `${role} ${r.method} ${r.url} → ${res.statusCode} ${res.body.slice(0, 200)}`;
        expect(res.statusCode, label).not.toBe(401);
        expect(res.statusCode, label).toBeLessThan(500);
        const allowed = r.auth === 'authenticated' || granted.has(r.auth);
        if (allowed) {
          if (res.statusCode === 403) expect(codeOf(r.url, res.json()), label).not.toBe('permission_denied');
        } else {
          expect(res.statusCode, label).toBe(403);
          expect(codeOf(r.url, res.json()), label).toBe('permission_denied');
        }
      }
    });
  }
});
