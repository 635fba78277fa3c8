import { describe, expect, it } from 'vitest';
import { type EventListener, INTERNAL_TOPIC, type PublishInput } from '../../platform/events/bus.js';
import { invalidToken } from './errors.js';
import type { Principal } from './principal.js';
import { cachePrincipals } from './principal-cache.js';
import type { AuthService } from './service.js';
import { issueToken, KEY_PREFIX, parseToken, SESSION_PREFIX, secretMatches } from './tokens.js';

/** A bus that delivers to this process only, like a single node. */
function localBus() {
  const listeners = new Set<EventListener>();
  return {
    async publish(input: PublishInput) {
      const event = { id: 0, user_id: null, at: new Date().toISOString(), ...input };
      for (const l of listeners) l(event);
    },
    subscribe(l: EventListener) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  };
}

/** An auth service over an in-memory token table that counts database lookups. */
function fakeAuth() {
  const tokens = new Map<string, { secretHash: string; principal: Principal }>();
  const state = { lookups: 0, gate: null as Promise<void> | null };
  const auth = {
    async authenticate(token: string): Promise<Principal> {
      state.lookups++;
      if (state.gate) await state.gate;
      const p = parseToken(token);
      const row = p && tokens.get(p.id);
      if (!p || !row || !secretMatches(p.secret, row.secretHash)) throw invalidToken();
      return row.principal;
    },
  } as unknown as AuthService;
  const issue = (userId: string, prefix = KEY_PREFIX, expiresAt?: Date) => {
    const t = issueToken(prefix);
    tokens.set(t.id, {
      secretHash: t.secretHash,
      principal: {
        userId,
        username: userId,
        role: 'user',
        permissions: new Set(['profile']),
        via: prefix === KEY_PREFIX ? 'key' : 'session',
        ...(expiresAt ? { expiresAt } : {}),
      },
    });
    return t.token;
  };
  return { auth, state, issue };
}

const revoked = (userId: string) => ({
  topic: INTERNAL_TOPIC,
  type: 'principal.revoked',
  data: { user_id: userId, session_ids: [], key_ids: [], reason: 'test' },
});

function setup(opts: { ttlMs?: number; maxEntries?: number } = {}) {
  const bus = localBus();
  const fake = fakeAuth();
  let clock = Date.parse('2030-01-01T00:00:00Z');
  const cached = cachePrincipals(fake.auth, { bus, now: () => new Date(clock), ...opts });
  return { bus, ...fake, cached, advance: (ms: number) => (clock += ms) };
}

describe('principal cache', () => {
  it('answers a repeated token from memory, as a copy', async () => {
    const s = setup();
    const token = s.issue('u1');
    const a = await s.cached.authenticate(token);
    const b = await s.cached.authenticate(token);
    expect(s.state.lookups).toBe(1);
    expect(b).toEqual(a);
    expect(b).not.toBe(a);
  });

  it('never serves a cached id to a different secret', async () => {
    const s = setup();
    const token = s.issue('u1');
    await s.cached.authenticate(token);
    const [prefix, id] = token.split('_');
    const forged = `${prefix}_${id}_${'A'.repeat(43)}`;
    await expect(s.cached.authenticate(forged)).rejects.toMatchObject({ code: 'invalid_token' });
    expect(s.state.lookups).toBe(2);
    await s.cached.authenticate(token);
    expect(s.state.lookups).toBe(2);
  });

  it('forgets a user at once on principal.revoked and on the users topic', async () => {
    const s = setup();
    const key = s.issue('u1');
    const session = s.issue('u1', SESSION_PREFIX);
    const other = s.issue('u2');
    for (const t of [key, session, other]) await s.cached.authenticate(t);
    await s.bus.publish(revoked('u1'));
    for (const t of [key, session, other]) await s.cached.authenticate(t);
    expect(s.state.lookups).toBe(5);
    await s.bus.publish({ topic: 'users', type: 'user.updated', data: { id: 'u2' } });
    await s.cached.authenticate(other);
    expect(s.state.lookups).toBe(6);
  });

  it('does not store a lookup that raced with a revocation', async () => {
    const s = setup();
    const token = s.issue('u1');
    let open!: () => void;
    s.state.gate = new Promise((r) => {
      open = r;
    });
    const inFlight = s.cached.authenticate(token);
    await s.bus.publish(revoked('u1'));
    s.state.gate = null;
    open();
    await inFlight;
    await s.cached.authenticate(token);
    expect(s.state.lookups).toBe(2);
  });

  it('asks the database again after the TTL, and at once when the credential expires', async () => {
    const s = setup({ ttlMs: 10_000 });
    const token = s.issue('u1');
    await s.cached.authenticate(token);
    s.advance(9_999);
    await s.cached.authenticate(token);
    expect(s.state.lookups).toBe(1);
    s.advance(2);
    await s.cached.authenticate(token);
    expect(s.state.lookups).toBe(2);

    const soon = s.issue('u2', KEY_PREFIX, new Date(Date.parse('2030-01-01T00:00:00Z') + 10_001 + 1_000));
    await s.cached.authenticate(soon);
    s.advance(1_000);
    await s.cached.authenticate(soon);
    expect(s.state.lookups).toBe(4);
  });

  it('keeps at most maxEntries, dropping the oldest', async () => {
    const s = setup({ maxEntries: 2 });
    const [a, b, c] = [s.issue('a'), s.issue('b'), s.issue('c')];
    for (const t of [a, b, c]) await s.cached.authenticate(t);
    await s.cached.authenticate(c);
    await s.cached.authenticate(b);
    expect(s.state.lookups).toBe(3);
    await s.cached.authenticate(a);
    expect(s.state.lookups).toBe(4);
  });

  it('passes malformed tokens to the service and stops listening when stopped', async () => {
    const s = setup();
    await expect(s.cached.authenticate('nope')).rejects.toMatchObject({ code: 'invalid_token' });
    const token = s.issue('u1');
    await s.cached.authenticate(token);
    s.cached.stopCaching();
    await s.cached.authenticate(token);
    await s.cached.authenticate(token);
    expect(s.state.lookups).toBe(4);
  });
});
