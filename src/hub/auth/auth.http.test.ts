import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, createTestApp, type TestApp } from '../../../test/helpers/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t?.close());

describe('login', () => {
  it('answers a token, the user and sets HttpOnly session + CSRF cookies', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: 'admin', password: ADMIN_PASSWORD },
    });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.token).toMatch(/^ps_[A-Za-z0-9]{12}_/);
    expect(body.user).toMatchObject({ username: 'admin', role: 'admin', disabled: false });
    expect(body.user).not.toHaveProperty('password_hash');
    const cookies = res.cookies;
    const session = cookies.find((c) => c.name === 'polar_session');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/' });
    const csrf = cookies.find((c) => c.name === 'polar_csrf');
    expect(csrf?.value).toBe(body.csrf_token);
    expect(res.headers['x-request-id']).toBeTruthy();
  });

  it('refuses a wrong password with 401 problem+json and audits the failure', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: 'admin', password: 'nope-nope' },
    });
    expect(res.statusCode).toBe(401);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.json()).toMatchObject({
      code: 'invalid_credentials',
      status: 401,
      request_id: res.headers['x-request-id'],
    });
    const audit = await t.as(t.admin.token, {
      method: 'GET',
      url: '/api/v1/audit?action=auth.login&outcome=failure',
    });
    expect(audit.json().items[0]).toMatchObject({
      action: 'auth.login',
      outcome: 'failure',
      actor_name: 'admin',
    });
  });

  it('answers an unknown user the same as a wrong password', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: 'ghost', password: 'whatever1' },
    });
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('invalid_credentials');
  });

  it('validates the body: unknown fields, wrong types, bad JSON', async () => {
    const extra = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: 'a', password: 'b', role: 'admin' },
    });
    expect(extra.statusCode).toBe(400);
    expect(extra.json().code).toBe('validation_error');
    const types = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: 1, password: true },
    });
    expect(types.statusCode).toBe(400);
    expect(types.json().errors.length).toBeGreaterThan(0);
    const bad = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      headers: { 'content-type': 'application/json' },
      payload: '{"username": ',
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('invalid_json');
  });
});

describe('sessions', () => {
  it('me works with the bearer token and with the cookie', async () => {
    const u = await t.user('developer');
    const bearer = await t.as(u.token, { method: 'GET', url: '/api/v1/auth/me' });
    expect(bearer.statusCode).toBe(200);
    expect(bearer.json()).toMatchObject({
      user: { username: u.username, role: 'developer' },
      via: 'session',
    });
    expect(bearer.json().permissions).toContain('training:write');
    expect(bearer.json().permissions).not.toContain('users:write');
    const cookie = await t.app.inject({
      method: 'GET',
      url: '/api/v1/auth/me',
      cookies: { polar_session: u.token },
    });
    expect(cookie.statusCode).toBe(200);
  });

  it('cookie-authenticated writes need the CSRF token; bearer writes do not', async () => {
    const login = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: 'admin', password: ADMIN_PASSWORD },
    });
    const { token, csrf_token } = login.json();
    const body = { name: 'k' };
    const noCsrf = await t.app.inject({
      method: 'POST',
      url: '/api/v1/keys',
      cookies: { polar_session: token },
      payload: body,
    });
    expect(noCsrf.statusCode).toBe(403);
    expect(noCsrf.json().code).toBe('csrf_failed');
    const wrong = await t.app.inject({
      method: 'POST',
      url: '/api/v1/keys',
      cookies: { polar_session: token },
      headers: { 'x-csrf-token': 'x'.repeat(43) },
      payload: body,
    });
    expect(wrong.statusCode).toBe(403);
    const ok = await t.app.inject({
      method: 'POST',
      url: '/api/v1/keys',
      cookies: { polar_session: token },
      headers: { 'x-csrf-token': csrf_token },
      payload: body,
    });
    expect(ok.statusCode).toBe(201);
    const bearer = await t.as(token, { method: 'POST', url: '/api/v1/keys', payload: body });
    expect(bearer.statusCode).toBe(201);
  });

  it('an expired session answers 401 token_expired and is swept away', async () => {
    const u = await t.user('user');
    const id = u.token.split('_')[1];
    await t.database.db.execute(
      `update sessions set expires_at = now() - interval '1 minute' where id = '${id}'`,
    );
    const res = await t.as(u.token, { method: 'GET', url: '/api/v1/auth/me' });
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('token_expired');
    const { createSessionRepository } = await import('../keys/repository.js');
    expect(await createSessionRepository(t.database.db).deleteExpired()).toBeGreaterThanOrEqual(1);
    expect((await t.as(u.token, { method: 'GET', url: '/api/v1/auth/me' })).json().code).toBe(
      'invalid_token',
    );
  });

  it('logout ends the session', async () => {
    const token = await t.login('admin', ADMIN_PASSWORD);
    expect((await t.as(token, { method: 'POST', url: '/api/v1/auth/logout' })).statusCode).toBe(204);
    const after = await t.as(token, { method: 'GET', url: '/api/v1/auth/me' });
    expect(after.statusCode).toBe(401);
    expect(after.json().code).toBe('invalid_token');
  });

  it('change password: needs the current one, ends other sessions, new password works', async () => {
    const u = await t.user('user');
    const other = await t.login(u.username, u.password);
    const wrong = await t.as(u.token, {
      method: 'POST',
      url: '/api/v1/auth/password',
      payload: { current_password: 'bad-bad-bad', new_password: 'new-password-1' },
    });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json().code).toBe('wrong_password');
    const short = await t.as(u.token, {
      method: 'POST',
      url: '/api/v1/auth/password',
      payload: { current_password: u.password, new_password: 'short' },
    });
    expect(short.statusCode).toBe(400);
    const ok = await t.as(u.token, {
      method: 'POST',
      url: '/api/v1/auth/password',
      payload: { current_password: u.password, new_password: 'new-password-1' },
    });
    expect(ok.statusCode).toBe(204);
    expect((await t.as(u.token, { method: 'GET', url: '/api/v1/auth/me' })).statusCode).toBe(200);
    expect((await t.as(other, { method: 'GET', url: '/api/v1/auth/me' })).statusCode).toBe(401);
    await expect(t.login(u.username, 'new-password-1')).resolves.toMatch(/^ps_/);
  });
});

describe('tokens that must not work', () => {
  const bad = [
    '',
    'garbage',
    "' OR 1=1 --",
    "ps_abcdefghijkl_' OR '1'='1",
    `pk_${'a'.repeat(12)}_${'b'.repeat(43)}`,
    `ps_${'a'.repeat(12)}_${'b'.repeat(43)}`,
    'x'.repeat(8000),
    'pk_../../etc/passwd',
    'Bearer Bearer',
  ];
  it.each(bad.map((b, i) => [i, b]))('token #%i answers 401 quickly', async (_i, token) => {
    const started = performance.now();
    const res = await t.app.inject({
      method: 'GET',
      url: '/api/v1/auth/me',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.statusCode).toBe(401);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('refuses a malformed Authorization header', async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: '/api/v1/auth/me',
      headers: { authorization: 'Basic YWRtaW46YWRtaW4=' },
    });
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('invalid_authorization_header');
  });

  it('answers 401 before reading the body of a protected route', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      headers: { 'content-type': 'application/json' },
      payload: '{ not json at all',
    });
    expect(res.statusCode).toBe(401);
  });
});
