import { randomBytes, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers/app.js';
import { openWs, type WsClient, type WsMessage } from '../../../test/helpers/ws.js';
import { buildApp } from '../../app.js';

const REDIS_URL = process.env.POLAR_TEST_REDIS_URL;

/** Two nodes of one deployment: one database, one Redis, each with its own connections. */
describe.skipIf(!REDIS_URL)('event fan-out between nodes over Redis', () => {
  // A channel of our own, so suites running at the same time on this Redis do not hear each other.
  const eventChannel = `polar:test:events:${randomUUID()}`;
  let a: TestApp;
  let b: FastifyInstance;
  let redisA: Redis;
  let redisB: Redis;
  let urlA: string;
  let urlB: string;
  const open: WsClient[] = [];

  beforeAll(async () => {
    redisA = new Redis(REDIS_URL!);
    redisB = new Redis(REDIS_URL!);
    a = await createTestApp({ deps: { redis: redisA, eventChannel } });
    b = await buildApp(a.config, {
      database: a.database,
      logger: pino({ level: 'silent' }),
      masterKey: randomBytes(32),
      redis: redisB,
      eventChannel,
    });
    await a.app.listen({ host: '127.0.0.1', port: 0 });
    await b.listen({ host: '127.0.0.1', port: 0 });
    urlA = `ws://127.0.0.1:${(a.app.server.address() as AddressInfo).port}/ws`;
    urlB = `ws://127.0.0.1:${(b.server.address() as AddressInfo).port}/ws`;
  });
  afterAll(async () => {
    await Promise.all(open.map((c) => c.close().catch(() => {})));
    await b?.close();
    await a?.close();
    redisA?.disconnect();
    redisB?.disconnect();
  });

  const connect = async (url: string, token: string, topics: string) => {
    const c = await openWs(`${url}?topics=${topics}`, { authorization: `Bearer ${token}` });
    open.push(c);
    return c;
  };
  const created = (username: string) => (m: WsMessage) =>
    m.type === 'user.created' && (m.data as { username: string }).username === username;

  it('delivers an event published on node A to a socket on node B, and once on node A', async () => {
    const onB = await connect(urlB, a.admin.token, 'users');
    const onA = await connect(urlA, a.admin.token, 'users');
    const res = await a.as(a.admin.token, {
      method: 'POST',
      url: '/api/v1/users',
      payload: { username: 'across-nodes', password: 'pw-long-enough-1', role: 'user' },
    });
    expect(res.statusCode).toBe(201);
    const remote = await onB.next(created('across-nodes'), 'the event on node B');
    expect(remote).toMatchObject({ topic: 'users', data: { id: res.json().id, role: 'user' } });

    // Node A hears its own message back from Redis. A marker published on node B after the event reached
    // it comes to node A through the same channel, after that echo: once it is there, a duplicate would be too.
    await b.services.bus.publish({ topic: 'users', type: 'marker', data: {} });
    await onA.next((m) => m.type === 'marker', 'the marker from node B on node A');
    expect(onA.events().filter((m) => m.id === remote.id)).toHaveLength(1);
    expect(onB.events().filter((m) => m.id === remote.id)).toHaveLength(1);
  });

  it("disabling a user on node A closes that user's sockets on node B", async () => {
    const u = await a.user('user');
    const key = await a.as(u.token, { method: 'POST', url: '/api/v1/keys', payload: { name: 'k' } });
    const bySession = await connect(urlB, u.token, 'models');
    const byKey = await connect(urlB, key.json().key, 'models');
    const res = await a.as(a.admin.token, {
      method: 'PATCH',
      url: `/api/v1/users/${u.id}`,
      payload: { disabled: true },
    });
    expect(res.statusCode).toBe(200);
    expect(await bySession.closed()).toEqual({ code: 4001, reason: 'credentials revoked: disabled' });
    expect((await byKey.closed()).code).toBe(4001);
  });

  it('revoking a key on node A closes its socket on node B', async () => {
    const u = await a.user('user');
    const key = await a.as(u.token, { method: 'POST', url: '/api/v1/keys', payload: { name: 'k' } });
    const byKey = await connect(urlB, key.json().key, 'models');
    await a.as(u.token, { method: 'DELETE', url: `/api/v1/keys/${key.json().id}` });
    expect(await byKey.closed()).toEqual({ code: 4001, reason: 'credentials revoked: key_revoked' });
  });
});
