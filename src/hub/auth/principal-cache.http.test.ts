import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers/app.js';
import { buildApp } from '../../app.js';
import { PRINCIPAL_TTL_MS } from './principal-cache.js';

// Every case first uses the credential twice, so that where principals are cached (the embedded
// database) the revocation has to get past a warm cache entry.
let t: TestApp;
let clock = Date.now();
beforeAll(async () => {
  t = await createTestApp({ deps: { now: () => new Date(clock) } });
});
afterAll(async () => t?.close());

const me = (token: string) => t.as(token, { method: 'GET', url: '/api/v1/auth/me' });
const warm = async (...tokens: string[]) => {
  for (const token of tokens) {
    for (let i = 0; i < 2; i++) expect((await me(token)).statusCode).toBe(200);
  }
};
const newKey = async (token: string, payload: Record<string, unknown> = {}) => {
  const res = await t.as(token, { method: 'POST', url: '/api/v1/keys', payload: { name: 'k', ...payload } });
  expect(res.statusCode).toBe(201);
  return res.json() as { id: string; key: string };
};
const patchUser = (id: string, payload: Record<string, unknown>) =>
  t.as(t.admin.token, { method: 'PATCH', url: `/api/v1/users/${id}`, payload });

describe('cached principals', () => {
  it('are cached on the embedded database, and only for a bounded time', async () => {
    const u = await t.user('user');
    const k = await newKey(u.token);
    await warm(k.key);
    // Deleting the row behind Polar's back publishes nothing: only the TTL ends the entry.
    await t.database.db.execute(sql`delete from api_keys where id = ${k.id}`);
    expect((await me(k.key)).statusCode).toBe(t.database.kind === 'pglite' ? 200 : 401);
    clock += PRINCIPAL_TTL_MS + 1;
    expect((await me(k.key)).statusCode).toBe(401);
  });

  it('a revoked key stops working at once', async () => {
    const u = await t.user('developer');
    const k = await newKey(u.token);
    await warm(k.key);
    const del = await t.as(u.token, { method: 'DELETE', url: `/api/v1/keys/${k.id}` });
    expect(del.statusCode).toBe(200);
    const res = await me(k.key);
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('key_revoked');
  });

  it("a disabled user's sessions and keys stop working at once", async () => {
    const u = await t.user('developer');
    const k = await newKey(u.token);
    await warm(u.token, k.key);
    expect((await patchUser(u.id, { disabled: true })).statusCode).toBe(200);
    expect((await me(u.token)).statusCode).toBe(401);
    const byKey = await me(k.key);
    expect(byKey.statusCode).toBe(401);
    expect(byKey.json().code).toBe('account_disabled');
  });

  it("a demotion narrows the user's keys at once, and a promotion widens their session", async () => {
    const dev = await t.user('developer');
    const k = await newKey(dev.token, { scopes: ['models:read', 'models:write'] });
    await warm(k.key);
    expect((await patchUser(dev.id, { role: 'user' })).statusCode).toBe(200);
    expect((await me(k.key)).json().permissions).toEqual(['models:read']);

    const plain = await t.user('user');
    await warm(plain.token);
    expect((await patchUser(plain.id, { role: 'developer' })).statusCode).toBe(200);
    expect((await me(plain.token)).json().permissions).toContain('training:write');
  });

  it('logout and a password change end sessions at once', async () => {
    const u = await t.user('user');
    const other = await t.login(u.username, u.password);
    const third = await t.login(u.username, u.password);
    await warm(u.token, other, third);
    const out = await t.as(third, { method: 'POST', url: '/api/v1/auth/logout' });
    expect(out.statusCode).toBe(204);
    expect((await me(third)).statusCode).toBe(401);

    const changed = await t.as(u.token, {
      method: 'POST',
      url: '/api/v1/auth/password',
      payload: { current_password: u.password, new_password: 'a-new-password-1' },
    });
    expect(changed.statusCode).toBe(204);
    expect((await me(other)).statusCode).toBe(401);
    expect((await me(u.token)).statusCode).toBe(200);
  });

  it("a deleted user's keys stop working at once", async () => {
    const u = await t.user('user');
    const k = await newKey(u.token);
    await warm(k.key);
    const del = await t.as(t.admin.token, { method: 'DELETE', url: `/api/v1/users/${u.id}` });
    expect(del.statusCode).toBe(204);
    expect((await me(k.key)).statusCode).toBe(401);
  });

  it('an expiring key stops working when it expires, not when its cache entry does', async () => {
    const u = await t.user('user');
    const k = await newKey(u.token, { expires_in_days: 1 });
    await warm(k.key);
    clock += 86_400_000 - PRINCIPAL_TTL_MS / 2;
    await warm(k.key);
    clock += PRINCIPAL_TTL_MS / 2 + 1;
    const res = await me(k.key);
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('token_expired');
  });
});

describe('cached principals on two nodes', () => {
  let other: FastifyInstance;
  beforeAll(async () => {
    // A second node on the same database; sharing the first node's bus stands in for the fan-out
    // that carries events between nodes.
    other = await buildApp(t.config, {
      database: t.database,
      logger: pino({ level: 'silent' }),
      masterKey: randomBytes(32),
      bus: t.app.services.bus,
      now: () => new Date(clock),
    });
    await other.ready();
  });
  afterAll(async () => other?.close());

  it('a key revoked on one node stops working on the other at once', async () => {
    const u = await t.user('user');
    const k = await newKey(u.token);
    const onOther = () =>
      other.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { authorization: `Bearer ${k.key}` } });
    for (let i = 0; i < 2; i++) expect((await onOther()).statusCode).toBe(200);
    await t.as(u.token, { method: 'DELETE', url: `/api/v1/keys/${k.id}` });
    expect((await onOther()).statusCode).toBe(401);
  });
});
