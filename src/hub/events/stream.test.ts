import { EventEmitter } from 'node:events';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../platform/errors.js';
import type { EventBus, EventListener, PolarEvent, PublishInput } from '../../platform/events/bus.js';
import { permissionsOf, type Role } from '../auth/permissions.js';
import type { Principal } from '../auth/principal.js';
import type { EventSocket } from './connection.js';
import { createEventStream, type EventStreamOptions } from './service.js';
import { authorizeTopics, parseTopicList, seesEvent } from './topics.js';

/** A socket that records what the stream does to it. */
class FakeSocket extends EventEmitter implements EventSocket {
  readyState = 1;
  bufferedAmount = 0;
  sent: Record<string, unknown>[] = [];
  pings = 0;
  closedWith: { code: number; reason: string } | null = null;
  terminated = false;
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  ping() {
    this.pings++;
  }
  close(code: number, reason: string) {
    this.closedWith = { code, reason };
    this.readyState = 3;
  }
  terminate() {
    this.terminated = true;
    this.readyState = 3;
  }
  clientSends(msg: unknown) {
    this.emit('message', Buffer.from(typeof msg === 'string' ? msg : JSON.stringify(msg)), false);
  }
  events() {
    return this.sent.filter((m) => 'id' in m);
  }
}

/** An in-memory bus with the stored-event queries the stream uses. */
function memoryBus(): EventBus & { stored: PolarEvent[]; relay(e: PolarEvent): void } {
  const listeners = new Set<EventListener>();
  const stored: PolarEvent[] = [];
  let id = 0;
  return {
    stored,
    /** Delivers an event without storing it, as the fan-out from another node does. */
    relay(e) {
      for (const l of listeners) l(e);
    },
    async publish(input: PublishInput) {
      const e: PolarEvent = {
        id: input.topic === 'internal' ? 0 : ++id,
        topic: input.topic,
        type: input.type,
        user_id: input.userId ?? null,
        data: input.data,
        at: new Date().toISOString(),
      };
      if (e.id) stored.push(e);
      for (const l of listeners) l(e);
      return e;
    },
    subscribe(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    async since(lastId, topics, limit, forUser) {
      return stored
        .filter((e) => e.id > lastId && topics.includes(e.topic))
        .filter((e) => forUser === undefined || e.user_id === null || e.user_id === forUser)
        .slice(0, limit);
    },
    async oldestId() {
      return stored[0]?.id ?? null;
    },
    async prune() {
      return 0;
    },
    async close() {},
  };
}

const principal = (role: Role, extra: Partial<Principal> = {}): Principal => ({
  userId: `u-${role}`,
  username: role,
  role,
  permissions: permissionsOf(role),
  via: 'session',
  sessionId: `s-${role}`,
  ...extra,
});

function setup(
  options: Partial<EventStreamOptions> = {},
  authenticate = async (t: string) => principal(t as Role),
) {
  const bus = memoryBus();
  const stream = createEventStream({ bus, authenticate, log: pino({ level: 'silent' }), options });
  stream.start();
  const connect = async (p: Principal, topics: string[], lastEventId?: number) => {
    const socket = new FakeSocket();
    await stream.connect(socket, {
      principal: p,
      token: p.role,
      topics: authorizeTopics(p, topics),
      lastEventId,
    });
    return socket;
  };
  return { bus, stream, connect };
}

describe('topics', () => {
  it('parses a comma list into distinct names', () => {
    expect(parseTopicList(' audit, users,,audit ')).toEqual(['audit', 'users']);
    expect(parseTopicList(undefined)).toEqual([]);
  });

  it('refuses unknown topics (400) and topics the caller may not read (403), all or nothing', () => {
    const user = principal('user');
    expect(authorizeTopics(user, ['models'])).toEqual(['models']);
    const unknown = (() => {
      try {
        authorizeTopics(user, ['models', 'internal', '__proto__']);
      } catch (e) {
        return e as AppError;
      }
    })();
    expect(unknown).toMatchObject({ status: 400, code: 'unknown_topic' });
    expect(() => authorizeTopics(user, ['models', 'audit'])).toThrow(/'audit' needs 'audit:read'/);
    expect(() => authorizeTopics(principal('developer'), ['health'])).toThrow(AppError);
    expect(authorizeTopics(principal('admin'), ['health', 'audit'])).toEqual(['health', 'audit']);
  });

  it('shows a user-bound event to that user and admins only', () => {
    expect(seesEvent(principal('user'), null)).toBe(true);
    expect(seesEvent(principal('user'), 'u-user')).toBe(true);
    expect(seesEvent(principal('user'), 'someone')).toBe(false);
    expect(seesEvent(principal('admin'), 'someone')).toBe(true);
  });
});

describe('event stream', () => {
  it('delivers live events on subscribed topics only, in the documented shape', async () => {
    const { bus, connect } = setup();
    const s = await connect(principal('user'), ['models']);
    expect(s.sent[0]).toEqual({ type: 'subscribed', topics: ['models'] });
    await bus.publish({ topic: 'models', type: 'model.created', data: { name: 'm' } });
    await bus.publish({ topic: 'training', type: 'job.started', data: {} });
    expect(s.events()).toEqual([
      { id: 1, topic: 'models', type: 'model.created', at: expect.any(String), data: { name: 'm' } },
    ]);
  });

  it('replays after the last id, holds live events during the replay, and sends none twice', async () => {
    const { bus, stream } = setup();
    for (let i = 1; i <= 3; i++) await bus.publish({ topic: 'models', type: `e${i}`, data: {} });
    const since = bus.since.bind(bus);
    bus.since = async (...args) => {
      const rows = await since(...args);
      // While the replay query runs: a new live event, and a late copy of one the replay returns.
      await bus.publish({ topic: 'models', type: 'e4', data: {} });
      bus.relay(bus.stored[2]!);
      return rows;
    };
    const s = new FakeSocket();
    await stream.connect(s, {
      principal: principal('user'),
      token: 'user',
      topics: ['models'],
      lastEventId: 1,
    });
    await bus.publish({ topic: 'models', type: 'e5', data: {} });
    expect(s.sent.map((m) => m.type)).toEqual(['e2', 'e3', 'subscribed', 'e4', 'e5']);
    expect(s.events().map((m) => m.id)).toEqual([2, 3, 4, 5]);
  });

  it('drops a late live copy of a replayed event, but not a late event it never sent', async () => {
    const { bus, connect } = setup();
    for (let i = 1; i <= 3; i++) await bus.publish({ topic: 'models', type: `e${i}`, data: {} });
    const s = await connect(principal('user'), ['models'], 1);
    bus.relay(bus.stored[1]!);
    bus.relay(bus.stored[0]!);
    expect(s.events().map((m) => m.id)).toEqual([2, 3, 1]);
  });

  it('asks for a resync when more events were missed than it replays, or some were pruned', async () => {
    const { bus, connect } = setup({ replayLimit: 2 });
    for (let i = 1; i <= 3; i++) await bus.publish({ topic: 'models', type: `e${i}`, data: {} });
    const s = await connect(principal('user'), ['models'], 0);
    expect(s.sent[0]).toMatchObject({ type: 'resync_required', reason: 'too_many_missed' });
    expect(s.events()).toEqual([]);
    bus.stored.splice(0, 2);
    const pruned = await connect(principal('user'), ['models'], 1);
    expect(pruned.sent[0]).toMatchObject({ type: 'resync_required', reason: 'events_pruned' });
    const fine = await connect(principal('user'), ['models'], 2);
    expect(fine.events().map((m) => m.id)).toEqual([3]);
  });

  it("filters other users' events out of the replay and the live stream", async () => {
    const { bus, connect } = setup();
    await bus.publish({ topic: 'models', type: 'mine', userId: 'u-user', data: {} });
    await bus.publish({ topic: 'models', type: 'theirs', userId: 'other', data: {} });
    const user = await connect(principal('user'), ['models'], 0);
    const admin = await connect(principal('admin'), ['models'], 0);
    await bus.publish({ topic: 'models', type: 'theirs-live', userId: 'other', data: {} });
    expect(user.events().map((m) => m.type)).toEqual(['mine']);
    expect(admin.events().map((m) => m.type)).toEqual(['mine', 'theirs', 'theirs-live']);
  });

  it('changes topics on request, with the same permission check', async () => {
    const { bus, connect } = setup();
    const s = await connect(principal('developer'), []);
    s.clientSends({ op: 'subscribe', topics: ['training'] });
    expect(s.sent.at(-1)).toEqual({ type: 'subscribed', topics: ['training'] });
    s.clientSends({ op: 'subscribe', topics: ['training', 'audit'] });
    expect(s.sent.at(-1)).toMatchObject({ type: 'error', code: 'topic_forbidden' });
    s.clientSends({ op: 'subscribe', topics: ['nope'] });
    expect(s.sent.at(-1)).toMatchObject({ type: 'error', code: 'unknown_topic' });
    s.clientSends('not json');
    expect(s.sent.at(-1)).toMatchObject({ type: 'error', code: 'invalid_message' });
    s.clientSends({ op: 'subscribe', topics: ['models'], extra: 1 });
    expect(s.sent.at(-1)).toMatchObject({ type: 'error', code: 'invalid_message' });
    await bus.publish({ topic: 'training', type: 'job.started', data: {} });
    s.clientSends({ op: 'unsubscribe', topics: ['training'] });
    await bus.publish({ topic: 'training', type: 'job.finished', data: {} });
    expect(s.events().map((m) => m.type)).toEqual(['job.started']);
    expect(s.closedWith).toBeNull();
  });

  it('closes a slow consumer with 1013 instead of queueing without bound', async () => {
    const { bus, stream, connect } = setup({ maxBufferedBytes: 1000 });
    const s = await connect(principal('user'), ['models']);
    s.bufferedAmount = 999;
    await bus.publish({ topic: 'models', type: 'a', data: {} });
    expect(s.closedWith).toBeNull();
    s.bufferedAmount = 1001;
    await bus.publish({ topic: 'models', type: 'b', data: {} });
    expect(s.closedWith?.code).toBe(1013);
    await bus.publish({ topic: 'models', type: 'c', data: {} });
    expect(s.events().map((m) => m.type)).toEqual(['a', 'b']);
    s.emit('close');
    expect(stream.size()).toBe(0);
  });

  it('pings, and drops a peer that did not answer the previous ping', async () => {
    const { stream, connect } = setup();
    const s = await connect(principal('user'), ['models']);
    await stream.tick();
    expect(s.pings).toBe(1);
    s.emit('pong');
    await stream.tick();
    expect(s.pings).toBe(2);
    expect(s.terminated).toBe(false);
    await stream.tick();
    expect(s.terminated).toBe(true);
    expect(stream.size()).toBe(0);
  });

  it('closes sockets named by a revocation, and all of a disabled user', async () => {
    const { bus, connect } = setup();
    const session = await connect(principal('user', { sessionId: 's1' }), ['models']);
    const key = await connect(principal('user', { via: 'key', sessionId: undefined, keyId: 'k1' }), [
      'models',
    ]);
    const other = await connect(principal('user', { userId: 'u2', sessionId: 's2' }), ['models']);
    const revoked = (data: Record<string, unknown>) =>
      bus.publish({ topic: 'internal', type: 'principal.revoked', data });
    await revoked({ user_id: 'u-user', session_ids: [], key_ids: ['k1'], reason: 'key_revoked' });
    expect(key.closedWith).toEqual({ code: 4001, reason: 'credentials revoked: key_revoked' });
    expect(session.closedWith).toBeNull();
    await revoked({ user_id: 'u2', session_ids: [], key_ids: [], reason: 'disabled' });
    expect(other.closedWith?.code).toBe(4001);
    expect(session.closedWith).toBeNull();
    await revoked({ user_id: 'u-user', session_ids: ['s1'], key_ids: [], reason: 'logout' });
    expect(session.closedWith?.code).toBe(4001);
    expect(session.events()).toEqual([]);
  });

  it('re-checks credentials each tick: closes invalid ones, narrows topics of demoted ones', async () => {
    let current: Principal | Error = principal('admin');
    const { connect, stream } = setup({}, async () => {
      if (current instanceof Error) throw current;
      return current;
    });
    const s = await connect(principal('admin'), ['audit', 'models']);
    current = principal('user');
    await stream.tick();
    expect(s.sent.at(-1)).toEqual({ type: 'subscribed', topics: ['models'], dropped: ['audit'] });
    current = new Error('database unavailable');
    s.emit('pong');
    await stream.tick();
    expect(s.terminated).toBe(false);
    expect(s.closedWith).toBeNull();
    current = new AppError(401, 'token_expired', 'The token has expired');
    s.emit('pong');
    await stream.tick();
    expect(s.closedWith).toEqual({ code: 4001, reason: 'credentials no longer valid: token_expired' });
  });

  it('refuses more sockets per user than the bound, before the upgrade', async () => {
    const { stream, connect } = setup({ maxPerUser: 2 });
    await connect(principal('user'), []);
    await connect(principal('user'), []);
    expect(() => stream.admit(principal('user'), 'models')).toThrow(/At most 2 open event streams/);
    expect(stream.admit(principal('developer'), 'models,training')).toEqual(['models', 'training']);
  });

  it('closes every socket with 1001 when the node stops', async () => {
    const { stream, connect } = setup();
    const s = await connect(principal('user'), []);
    stream.stop();
    expect(s.closedWith?.code).toBe(1001);
  });
});
