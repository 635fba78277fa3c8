import type { AddressInfo } from 'node:net';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp, type TestUser } from '../../../test/helpers/app.js';
import { openWs, refusedWs, type WsClient, type WsMessage } from '../../../test/helpers/ws.js';
import { sessions } from '../tables.js';

const REPLAY_LIMIT = 5;

let t: TestApp;
let base: string;
const open: WsClient[] = [];

beforeAll(async () => {
  t = await createTestApp({ deps: { eventStream: { replayLimit: REPLAY_LIMIT } } });
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  base = `ws://127.0.0.1:${(t.app.server.address() as AddressInfo).port}/ws`;
});
afterAll(async () => {
  await Promise.all(open.map((c) => c.close().catch(() => {})));
  await t?.close();
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function connect(token: string, query: string, headers: Record<string, string> = {}) {
  const c = await openWs(`${base}?${query}`, { ...bearer(token), ...headers });
  open.push(c);
  return c;
}

const createUser = (username: string) =>
  t.as(t.admin.token, {
    method: 'POST',
    url: '/api/v1/users',
    payload: { username, password: 'pw-long-enough-1', role: 'user' },
  });

const ofType = (type: string) => (m: WsMessage) => m.type === type;

describe('upgrade refusals (before the socket opens, as problem+json)', () => {
  it('releases the connection of a refused upgrade', async () => {
    await refusedWs(`${base}?topics=models`);
    await refusedWs(`${base}?topics=models`, { ...bearer(t.admin.token), host: 'evil.example' });
    const connections = () =>
      new Promise<number>((resolve, reject) =>
        t.app.server.getConnections((err, n) => (err ? reject(err) : resolve(n))),
      );
    // Bounded: the server closes its side once the answer is written.
    for (let i = 0; i < 50 && (await connections()) > 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await connections()).toBe(0);
  });

  it('refuses without credentials (401) and with a bad token (401)', async () => {
    const none = await refusedWs(`${base}?topics=models`);
    expect(none.status).toBe(401);
    expect(none.contentType).toContain('application/problem+json');
    expect(none.body.code).toBe('unauthorized');
    const bad = await refusedWs(`${base}?topics=models`, bearer(`ps_${'x'.repeat(12)}_${'y'.repeat(43)}`));
    expect(bad.status).toBe(401);
    expect(bad.body.code).toBe('invalid_token');
  });

  it('refuses topics the caller may not read (403) and unknown ones (400)', async () => {
    const u = await t.user('user');
    const forbidden = await refusedWs(`${base}?topics=models,audit`, bearer(u.token));
    expect(forbidden.status).toBe(403);
    expect(forbidden.body).toMatchObject({ code: 'topic_forbidden', status: 403 });
    const unknown = await refusedWs(`${base}?topics=nope`, bearer(u.token));
    expect(unknown.status).toBe(400);
    expect(unknown.body.code).toBe('unknown_topic');
    // Internal signals between nodes are not a topic clients can name.
    const internal = await refusedWs(`${base}?topics=internal`, bearer(t.admin.token));
    expect(internal.body.code).toBe('unknown_topic');
    const badId = await refusedWs(`${base}?topics=models&last_event_id=-1`, bearer(u.token));
    expect(badId.status).toBe(400);
    expect(badId.body.code).toBe('validation_error');
  });

  it('refuses a key without events:read (403)', async () => {
    const res = await t.as(t.admin.token, {
      method: 'POST',
      url: '/api/v1/keys',
      payload: { name: 'no-events', scopes: ['models:read'] },
    });
    const refused = await refusedWs(`${base}?topics=models`, bearer(res.json().key));
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('permission_denied');
  });

  it('refuses a foreign Origin (403) and a Host that is not served here (421)', async () => {
    const origin = await refusedWs(`${base}?topics=models`, {
      ...bearer(t.admin.token),
      origin: 'http://evil.example',
    });
    expect(origin.status).toBe(403);
    expect(origin.body.code).toBe('origin_not_allowed');
    const host = await refusedWs(`${base}?topics=models`, { ...bearer(t.admin.token), host: 'evil.example' });
    expect(host.status).toBe(421);
    expect(host.body.code).toBe('host_not_allowed');
  });

  it('accepts the session cookie from a same-origin page', async () => {
    const u = await t.user('user');
    const port = (t.app.server.address() as AddressInfo).port;
    const c = await openWs(`${base}?topics=models`, {
      cookie: `polar_session=${u.token}`,
      origin: `http://127.0.0.1:${port}`,
    });
    open.push(c);
    expect(c.messages[0]).toEqual({ type: 'subscribed', topics: ['models'] });
  });
});

describe('documentation', () => {
  it('lists /ws in the OpenAPI document with its query, headers and protocol', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json();
    const op = doc.paths['/ws']?.get;
    expect(op.description).toMatch(/resync_required/);
    expect(op.parameters.map((p: { name: string }) => p.name).sort()).toEqual([
      'last-event-id',
      'last_event_id',
      'topics',
    ]);
  });
});

describe('delivery', () => {
  it('sends live user events on the users topic, without password data', async () => {
    const c = await connect(t.admin.token, 'topics=users,audit');
    const res = await createUser('live-one');
    const id = res.json().id;
    const e = await c.next((m) => m.type === 'user.created' && m.topic === 'users', 'user.created');
    expect(e).toEqual({
      id: expect.any(Number),
      topic: 'users',
      type: 'user.created',
      at: expect.any(String),
      data: { id, username: 'live-one', role: 'user', disabled: false },
    });
    expect(JSON.stringify(c.messages)).not.toMatch(/password|argon/i);
    const audit = await c.next((m) => m.topic === 'audit' && m.type === 'user.create', 'audit event');
    expect(audit.data).toMatchObject({ action: 'user.create', target_id: id });
  });

  it('resumes after the last id with exactly the missed events, in order, then live ones', async () => {
    const first = await connect(t.admin.token, 'topics=users');
    await createUser('resume-0');
    const seen = await first.next(ofType('user.created'));
    await first.close();

    for (let i = 1; i <= 3; i++) await createUser(`resume-${i}`);
    const resumed = await connect(t.admin.token, `topics=users&last_event_id=${seen.id}`);
    await createUser('resume-4');
    await resumed.next(
      (m) => m.type === 'user.created' && (m.data as { username: string }).username === 'resume-4',
    );
    expect(
      resumed.messages.map((m) =>
        m.type === 'subscribed' ? 'subscribed' : (m.data as { username: string }).username,
      ),
    ).toEqual(['resume-1', 'resume-2', 'resume-3', 'subscribed', 'resume-4']);
    const ids = resumed.events().map((m) => m.id as number);
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);

    // The Last-Event-ID header works the same way.
    const header = await connect(t.admin.token, 'topics=users', { 'last-event-id': String(ids[2]) });
    expect(header.events().map((m) => (m.data as { username: string }).username)).toEqual(['resume-4']);
  });

  it('asks for a resync when more events were missed than it replays', async () => {
    const first = await connect(t.admin.token, 'topics=users');
    await createUser('gap-0');
    const seen = await first.next(ofType('user.created'));
    for (let i = 1; i <= REPLAY_LIMIT + 1; i++) await createUser(`gap-${i}`);
    const c = await connect(t.admin.token, `topics=users&last_event_id=${seen.id}`);
    expect(c.messages[0]).toMatchObject({ type: 'resync_required', reason: 'too_many_missed' });
    expect(c.events()).toEqual([]);
  });

  it('sends an event bound to a user to that user and admins only', async () => {
    const alice = await t.user('user');
    const bob = await t.user('user');
    const a = await connect(alice.token, 'topics=models');
    const b = await connect(bob.token, 'topics=models');
    const admin = await connect(t.admin.token, 'topics=models');
    await t.app.services.bus.publish({ topic: 'models', type: 'model.private', userId: alice.id, data: {} });
    await t.app.services.bus.publish({ topic: 'models', type: 'model.public', data: {} });
    await b.next(ofType('model.public'));
    await a.next(ofType('model.public'));
    await admin.next(ofType('model.public'));
    expect(a.events().map((m) => m.type)).toEqual(['model.private', 'model.public']);
    expect(b.events().map((m) => m.type)).toEqual(['model.public']);
    expect(admin.events().map((m) => m.type)).toEqual(['model.private', 'model.public']);
  });

  it('changes topics on request, checking permissions the same way', async () => {
    const dev = await t.user('developer');
    const c = await connect(dev.token, '');
    expect(c.messages[0]).toEqual({ type: 'subscribed', topics: [] });
    c.send({ op: 'subscribe', topics: ['training', 'audit'] });
    expect(await c.next(ofType('error'))).toMatchObject({ code: 'topic_forbidden' });
    c.send({ op: 'subscribe', topics: ['training'] });
    await c.next((m) => m.type === 'subscribed' && (m.topics as string[]).includes('training'));
    await t.app.services.bus.publish({ topic: 'training', type: 'job.progress', data: { progress: 10 } });
    expect(await c.next(ofType('job.progress'))).toMatchObject({ data: { progress: 10 } });
  });
});

describe('revocation closes open sockets at once', () => {
  const closesWith4001 = async (c: WsClient) => {
    const closed = await c.closed();
    expect(closed.code).toBe(4001);
    return closed.reason;
  };

  it('disabling a user closes their sockets (session and key)', async () => {
    const u: TestUser = await t.user('user');
    const key = await t.as(u.token, { method: 'POST', url: '/api/v1/keys', payload: { name: 'k' } });
    const bySession = await connect(u.token, 'topics=models');
    const byKey = await connect(key.json().key, 'topics=models');
    const bystander = await connect((await t.user('user')).token, 'topics=models');
    const res = await t.as(t.admin.token, {
      method: 'PATCH',
      url: `/api/v1/users/${u.id}`,
      payload: { disabled: true },
    });
    expect(res.statusCode).toBe(200);
    expect(await closesWith4001(bySession)).toBe('credentials revoked: disabled');
    await closesWith4001(byKey);
    expect(bystander.ws.readyState).toBe(bystander.ws.OPEN);
    const again = await refusedWs(`${base}?topics=models`, bearer(key.json().key));
    expect(again.body.code).toBe('account_disabled');
  });

  it('revoking a key closes the sockets opened with it, not the owner’s others', async () => {
    const u = await t.user('user');
    const key = await t.as(u.token, { method: 'POST', url: '/api/v1/keys', payload: { name: 'k' } });
    const byKey = await connect(key.json().key, 'topics=models');
    const bySession = await connect(u.token, 'topics=models');
    const res = await t.as(u.token, { method: 'DELETE', url: `/api/v1/keys/${key.json().id}` });
    expect(res.statusCode).toBe(200);
    expect(await closesWith4001(byKey)).toBe('credentials revoked: key_revoked');
    await t.app.services.bus.publish({ topic: 'models', type: 'still.here', data: {} });
    await bySession.next(ofType('still.here'));
  });

  it('logging out closes the sockets of that session', async () => {
    const u = await t.user('user');
    const c = await connect(u.token, 'topics=models');
    const res = await t.as(u.token, { method: 'POST', url: '/api/v1/auth/logout' });
    expect(res.statusCode).toBe(204);
    expect(await closesWith4001(c)).toBe('credentials revoked: logout');
  });

  it('demoting an admin closes their sockets', async () => {
    const a = await t.user('admin');
    const c = await connect(a.token, 'topics=audit');
    await t.as(t.admin.token, { method: 'PATCH', url: `/api/v1/users/${a.id}`, payload: { role: 'user' } });
    expect(await closesWith4001(c)).toBe('credentials revoked: demoted');
  });

  it('the periodic check closes a socket whose session vanished without a signal', async () => {
    const u = await t.user('user');
    const c = await connect(u.token, 'topics=models');
    await t.database.db.delete(sessions).where(eq(sessions.userId, u.id));
    await t.app.services.events.tick();
    expect(await closesWith4001(c)).toBe('credentials no longer valid: invalid_token');
  });
});

describe('shutdown', () => {
  it('closes open sockets with 1001 when the node stops', async () => {
    const node = await createTestApp();
    try {
      await node.app.listen({ host: '127.0.0.1', port: 0 });
      const port = (node.app.server.address() as AddressInfo).port;
      const c = await openWs(`ws://127.0.0.1:${port}/ws?topics=users`, bearer(node.admin.token));
      const closed = c.closed();
      await node.app.close();
      expect(await closed).toEqual({ code: 1001, reason: 'server shutting down' });
    } finally {
      await node.close();
    }
  });
});
