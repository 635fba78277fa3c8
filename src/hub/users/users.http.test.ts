import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t?.close());

const create = (token: string, payload: Record<string, unknown>) =>
  t.as(token, { method: 'POST', url: '/api/v1/users', payload });

describe('users', () => {
  it('admin creates, lists, gets, updates and deletes a user', async () => {
    const res = await create(t.admin.token, {
      username: 'alice',
      password: 'alice-password',
      role: 'developer',
    });
    expect(res.statusCode).toBe(201);
    const alice = res.json();
    expect(alice).toMatchObject({
      username: 'alice',
      role: 'developer',
      disabled: false,
      must_change_password: true,
    });
    expect(JSON.stringify(alice)).not.toContain('alice-password');

    const list = await t.as(t.admin.token, { method: 'GET', url: '/api/v1/users?search=ali' });
    expect(list.json().items.map((u: { username: string }) => u.username)).toEqual(['alice']);

    const got = await t.as(t.admin.token, { method: 'GET', url: `/api/v1/users/${alice.id}` });
    expect(got.json().id).toBe(alice.id);

    const upd = await t.as(t.admin.token, {
      method: 'PATCH',
      url: `/api/v1/users/${alice.id}`,
      payload: { role: 'user' },
    });
    expect(upd.statusCode).toBe(200);
    expect(upd.json().role).toBe('user');

    const del = await t.as(t.admin.token, { method: 'DELETE', url: `/api/v1/users/${alice.id}` });
    expect(del.statusCode).toBe(204);
    expect((await t.as(t.admin.token, { method: 'GET', url: `/api/v1/users/${alice.id}` })).statusCode).toBe(
      404,
    );

    const audit = (
      await t.as(t.admin.token, { method: 'GET', url: `/api/v1/audit?target_id=${alice.id}` })
    ).json();
    expect(audit.items.map((a: { action: string }) => a.action)).toEqual([
      'user.delete',
      'user.update',
      'user.create',
    ]);
    expect(audit.items[0]).toMatchObject({ actor_name: 'admin', actor_kind: 'session', outcome: 'success' });
  });

  it('usernames are unique regardless of case (409)', async () => {
    expect((await create(t.admin.token, { username: 'Bob', password: 'bob-password' })).statusCode).toBe(201);
    const dup = await create(t.admin.token, { username: 'bob', password: 'bob-password' });
    expect(dup.statusCode).toBe(409);
    expect(dup.json().code).toBe('username_taken');
  });

  it('validates input', async () => {
    const cases = [
      { username: 'x', password: 'long-enough' },
      { username: 'ok-name', password: 'short' },
      { username: 'ok-name2', password: 'long-enough', role: 'root' },
      { username: "x'; drop table users; --", password: 'long-enough' },
      { username: 'ok-name3', password: 'long-enough', id: 'chosen' },
      { username: 'ok-name4', password: 'p'.repeat(300) },
    ];
    for (const c of cases) {
      const res = await create(t.admin.token, c);
      expect(res.statusCode, JSON.stringify(c)).toBe(400);
      expect(res.json().code).toBe('validation_error');
    }
  });

  it('paginates with a cursor', async () => {
    for (let i = 0; i < 5; i++)
      await create(t.admin.token, { username: `page${i}`, password: 'page-password' });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const url: string = `/api/v1/users?search=page&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const page = (await t.as(t.admin.token, { method: 'GET', url })).json();
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((u: { username: string }) => u.username));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen.sort()).toEqual(['page0', 'page1', 'page2', 'page3', 'page4']);
    const bad = await t.as(t.admin.token, { method: 'GET', url: '/api/v1/users?cursor=%%%' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('invalid_cursor');
  });

  it('non-admins cannot manage users, nor raise their own role (mass assignment)', async () => {
    const dev = await t.user('developer');
    expect((await create(dev.token, { username: 'sneaky', password: 'sneaky-password' })).statusCode).toBe(
      403,
    );
    expect((await t.as(dev.token, { method: 'GET', url: '/api/v1/users' })).statusCode).toBe(403);
    const self = await t.as(dev.token, {
      method: 'PATCH',
      url: `/api/v1/users/${dev.id}`,
      payload: { role: 'admin' },
    });
    expect(self.statusCode).toBe(403);
    expect(self.json().code).toBe('forbidden_field');
    const other = await t.as(dev.token, {
      method: 'PATCH',
      url: `/api/v1/users/${t.admin.id}`,
      payload: { password: 'new-password' },
    });
    expect(other.statusCode).toBe(404);
    expect((await t.as(dev.token, { method: 'GET', url: `/api/v1/users/${t.admin.id}` })).statusCode).toBe(
      404,
    );
    expect((await t.as(dev.token, { method: 'GET', url: `/api/v1/users/${dev.id}` })).statusCode).toBe(200);
    const me = (await t.as(dev.token, { method: 'GET', url: '/api/v1/auth/me' })).json();
    expect(me.user.role).toBe('developer');
  });

  it('a user changes their own password through PATCH only with the current one', async () => {
    const u = await t.user('user');
    const missing = await t.as(u.token, {
      method: 'PATCH',
      url: `/api/v1/users/${u.id}`,
      payload: { password: 'another-pass' },
    });
    expect(missing.statusCode).toBe(400);
    const ok = await t.as(u.token, {
      method: 'PATCH',
      url: `/api/v1/users/${u.id}`,
      payload: { password: 'another-pass', current_password: u.password },
    });
    expect(ok.statusCode).toBe(200);
    await expect(t.login(u.username, 'another-pass')).resolves.toMatch(/^ps_/);
  });

  it('disabling a user stops their sessions and keys at once; enabling lets them sign in again', async () => {
    const u = await t.user('developer');
    const key = (await t.as(u.token, { method: 'POST', url: '/api/v1/keys', payload: { name: 'k' } })).json()
      .key;
    expect((await t.as(key, { method: 'GET', url: '/api/v1/auth/me' })).statusCode).toBe(200);
    const dis = await t.as(t.admin.token, {
      method: 'PATCH',
      url: `/api/v1/users/${u.id}`,
      payload: { disabled: true },
    });
    expect(dis.json().disabled).toBe(true);
    expect((await t.as(u.token, { method: 'GET', url: '/api/v1/auth/me' })).statusCode).toBe(401);
    const byKey = await t.as(key, { method: 'GET', url: '/api/v1/auth/me' });
    expect(byKey.statusCode).toBe(401);
    expect(byKey.json().code).toBe('account_disabled');
    const login = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: u.username, password: u.password },
    });
    expect(login.statusCode).toBe(401);
    await t.as(t.admin.token, {
      method: 'PATCH',
      url: `/api/v1/users/${u.id}`,
      payload: { disabled: false },
    });
    await expect(t.login(u.username, u.password)).resolves.toMatch(/^ps_/);
    expect((await t.as(key, { method: 'GET', url: '/api/v1/auth/me' })).statusCode).toBe(200);
  });

  it('demoting a user ends their sessions and narrows their keys to the new role', async () => {
    const u = await t.user('developer');
    const key = (
      await t.as(u.token, { method: 'POST', url: '/api/v1/keys', payload: { name: 'dev-key' } })
    ).json();
    expect(key.scopes).toContain('training:write');
    await t.as(t.admin.token, { method: 'PATCH', url: `/api/v1/users/${u.id}`, payload: { role: 'user' } });
    expect((await t.as(u.token, { method: 'GET', url: '/api/v1/auth/me' })).statusCode).toBe(401);
    const me = (await t.as(key.key, { method: 'GET', url: '/api/v1/auth/me' })).json();
    expect(me.user.role).toBe('user');
    expect(me.permissions).not.toContain('training:write');
    expect(me.permissions).toContain('inference');
  });

  it('keeps at least one active admin', async () => {
    const self = await t.as(t.admin.token, {
      method: 'PATCH',
      url: `/api/v1/users/${t.admin.id}`,
      payload: { role: 'user' },
    });
    expect(self.statusCode).toBe(409);
    expect(self.json().code).toBe('last_admin');
    const off = await t.as(t.admin.token, {
      method: 'PATCH',
      url: `/api/v1/users/${t.admin.id}`,
      payload: { disabled: true },
    });
    expect(off.json().code).toBe('last_admin');
    const del = await t.as(t.admin.token, { method: 'DELETE', url: `/api/v1/users/${t.admin.id}` });
    expect(del.statusCode).toBe(409);
  });

  it('an admin password reset forces a change and ends the user sessions', async () => {
    const u = await t.user('user');
    const res = await t.as(t.admin.token, {
      method: 'PATCH',
      url: `/api/v1/users/${u.id}`,
      payload: { password: 'reset-by-admin' },
    });
    expect(res.json().must_change_password).toBe(true);
    expect((await t.as(u.token, { method: 'GET', url: '/api/v1/auth/me' })).statusCode).toBe(401);
    await expect(t.login(u.username, 'reset-by-admin')).resolves.toMatch(/^ps_/);
  });

  it('unknown ids answer 404 problem+json', async () => {
    const res = await t.as(t.admin.token, {
      method: 'PATCH',
      url: '/api/v1/users/nope',
      payload: { disabled: true },
    });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ code: 'user_not_found', status: 404 });
  });
});
