import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t?.close());

const createKey = (token: string, payload: Record<string, unknown>) =>
  t.as(token, { method: 'POST', url: '/api/v1/keys', payload });

describe('API keys', () => {
  it('is shown once, stored hashed, listed by its last 4 characters, and works as a bearer', async () => {
    const u = await t.user('developer');
    const res = await createKey(u.token, {
      name: 'ci',
      scopes: ['models:read', 'inference'],
      expires_in_days: 30,
    });
    expect(res.statusCode).toBe(201);
    const k = res.json();
    expect(k.key).toMatch(/^pk_[A-Za-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
    expect(k).toMatchObject({ name: 'ci', scopes: ['inference', 'models:read'], last4: k.key.slice(-4) });
    expect(new Date(k.expires_at).getTime()).toBeGreaterThan(Date.now() + 29 * 86_400_000);

    const list = (await t.as(u.token, { method: 'GET', url: '/api/v1/keys' })).json();
    expect(list.items).toHaveLength(1);
    expect(list.items[0]).not.toHaveProperty('key');
    expect(JSON.stringify(list)).not.toContain(k.key.slice(16));

    const { rows } = (await t.database.db.execute(
      `select secret_hash from api_keys where id = '${k.id}'`,
    )) as unknown as {
      rows: { secret_hash: string }[];
    };
    expect(rows[0]?.secret_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(rows[0]?.secret_hash).not.toContain(k.key.split('_')[2]);

    const me = (await t.as(k.key, { method: 'GET', url: '/api/v1/auth/me' })).json();
    expect(me).toMatchObject({ via: 'key', key_id: k.id });
    expect(me.permissions).toEqual(['inference', 'models:read']);
  });

  it('refuses scopes the owner does not have, and unknown scopes', async () => {
    const u = await t.user('user');
    const more = await createKey(u.token, { name: 'x', scopes: ['users:write'] });
    expect(more.statusCode).toBe(403);
    expect(more.json().code).toBe('scope_not_allowed');
    const unknown = await createKey(u.token, { name: 'x', scopes: ['root'] });
    expect(unknown.statusCode).toBe(400);
  });

  it('a key cannot mint a key with more scopes than itself', async () => {
    const narrow = (
      await createKey(t.admin.token, { name: 'narrow', scopes: ['keys:write', 'keys:read'] })
    ).json();
    const wider = await createKey(narrow.key, { name: 'wider', scopes: ['users:write'] });
    expect(wider.statusCode).toBe(403);
    const same = await createKey(narrow.key, { name: 'same' });
    expect(same.statusCode).toBe(201);
    expect(same.json().scopes).toEqual(['keys:read', 'keys:write']);
  });

  it('a key limited by scope gets 403 outside its scopes', async () => {
    const k = (await createKey(t.admin.token, { name: 'read-only', scopes: ['profile'] })).json();
    expect((await t.as(k.key, { method: 'GET', url: '/api/v1/auth/me' })).statusCode).toBe(200);
    const denied = await t.as(k.key, { method: 'GET', url: '/api/v1/users' });
    expect(denied.statusCode).toBe(403);
    expect(denied.json().code).toBe('permission_denied');
  });

  it('revoked keys stop at once; revoking twice is harmless', async () => {
    const u = await t.user('user');
    const k = (await createKey(u.token, { name: 'temp' })).json();
    const r = await t.as(u.token, { method: 'DELETE', url: `/api/v1/keys/${k.id}` });
    expect(r.statusCode).toBe(200);
    expect(r.json().revoked_at).not.toBeNull();
    const after = await t.as(k.key, { method: 'GET', url: '/api/v1/auth/me' });
    expect(after.statusCode).toBe(401);
    expect(after.json().code).toBe('key_revoked');
    expect((await t.as(u.token, { method: 'DELETE', url: `/api/v1/keys/${k.id}` })).statusCode).toBe(200);
    const revokes = (
      await t.as(t.admin.token, { method: 'GET', url: `/api/v1/audit?action=key.revoke&target_id=${k.id}` })
    ).json();
    expect(revokes.items).toHaveLength(1);
  });

  it('expired keys answer 401 token_expired', async () => {
    const u = await t.user('user');
    const k = (await createKey(u.token, { name: 'short' })).json();
    await t.database.db.execute(
      `update api_keys set expires_at = now() - interval '1 second' where id = '${k.id}'`,
    );
    const res = await t.as(k.key, { method: 'GET', url: '/api/v1/auth/me' });
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('token_expired');
  });

  it("another user's key is 404, for reading and revoking; an admin may revoke it", async () => {
    const a = await t.user('developer');
    const b = await t.user('developer');
    const k = (await createKey(a.token, { name: 'mine' })).json();
    expect((await t.as(b.token, { method: 'GET', url: `/api/v1/keys/${k.id}` })).statusCode).toBe(404);
    expect((await t.as(b.token, { method: 'DELETE', url: `/api/v1/keys/${k.id}` })).statusCode).toBe(404);
    expect((await t.as(b.token, { method: 'GET', url: `/api/v1/keys?user_id=${a.id}` })).statusCode).toBe(
      403,
    );
    expect((await t.as(k.key, { method: 'GET', url: '/api/v1/auth/me' })).statusCode).toBe(200);
    expect((await t.as(t.admin.token, { method: 'DELETE', url: `/api/v1/keys/${k.id}` })).statusCode).toBe(
      200,
    );
    expect((await t.as(k.key, { method: 'GET', url: '/api/v1/auth/me' })).statusCode).toBe(401);
  });

  it('validates expiry', async () => {
    const past = await createKey(t.admin.token, { name: 'p', expires_at: '2000-01-01T00:00:00Z' });
    expect(past.statusCode).toBe(400);
    const both = await createKey(t.admin.token, {
      name: 'p',
      expires_at: '2999-01-01T00:00:00Z',
      expires_in_days: 1,
    });
    expect(both.statusCode).toBe(400);
    const notDate = await createKey(t.admin.token, { name: 'p', expires_at: 'tomorrow' });
    expect(notDate.statusCode).toBe(400);
    const noName = await createKey(t.admin.token, { name: '   ' });
    expect(noName.statusCode).toBe(400);
  });
});
