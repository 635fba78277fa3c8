import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabase } from '../../../test/helpers/db.js';
import type { Database } from '../../platform/db/client.js';
import { createEventBus, type PolarEvent } from '../../platform/events/bus.js';
import { createAuthService } from '../auth/service.js';
import { createKeyRepository, createSessionRepository } from '../keys/repository.js';
import { createUserRepository } from '../users/repository.js';
import { createAuditRepository } from './repository.js';
import { createAuditService } from './service.js';

let database: Database;
beforeAll(async () => {
  database = await testDatabase();
});
afterAll(async () => database?.close());

const setup = () => {
  const bus = createEventBus(database.db);
  const audit = createAuditService({
    repo: createAuditRepository(database.db),
    bus,
    log: pino({ level: 'silent' }),
  });
  const auth = createAuthService({
    users: createUserRepository(database.db),
    sessions: createSessionRepository(database.db),
    keys: createKeyRepository(database.db),
    audit,
    sessionTtlMs: () => 3_600_000,
  });
  return { bus, audit, auth };
};

describe('audit log', () => {
  it('records, publishes on the audit topic, and lists newest first with a cursor', async () => {
    const { bus, audit } = setup();
    const seen: PolarEvent[] = [];
    bus.subscribe((e) => seen.push(e));
    const ctx = { principal: null, requestId: 'req-1', ip: '10.0.0.1' };
    for (let i = 0; i < 3; i++)
      await audit.record(ctx, { action: `test.action${i}`, targetType: 't', targetId: String(i) });
    expect(seen.filter((e) => e.topic === 'audit').map((e) => e.type)).toEqual([
      'test.action0',
      'test.action1',
      'test.action2',
    ]);
    const first = await audit.list({ limit: 2, targetType: 't' });
    expect(first.items.map((r) => r.action)).toEqual(['test.action2', 'test.action1']);
    expect(first.items[0]).toMatchObject({
      actor_kind: 'anonymous',
      request_id: 'req-1',
      ip: '10.0.0.1',
      outcome: 'success',
    });
    const second = await audit.list({ limit: 2, targetType: 't', cursor: first.next_cursor! });
    expect(second.items.map((r) => r.action)).toEqual(['test.action0']);
    expect(second.next_cursor).toBeNull();
  });

  it('is append-only: the database refuses updates, deletes and truncation', async () => {
    const { audit } = setup();
    await audit.record({ principal: null, requestId: 'system', ip: '' }, { action: 'test.immutable' });
    const refusal = async (q: string) => {
      const err = await database.db.execute(q).then(
        () => null,
        (e: unknown) => e as Error & { cause?: Error },
      );
      return String(err?.cause?.message ?? err?.message);
    };
    expect(await refusal(`update audit_log set action = 'changed'`)).toMatch(/append-only/);
    expect(await refusal('delete from audit_log')).toMatch(/append-only/);
    expect(await refusal('truncate audit_log')).toMatch(/append-only/);
    const rows = await audit.list({ limit: 10, action: 'test.immutable' });
    expect(rows.items).toHaveLength(1);
    expect(rows.items[0]?.actor_kind).toBe('system');
  });
});

describe('first admin', () => {
  it('is created once, with a generated password only when none is given', async () => {
    const { auth } = setup();
    const first = await auth.bootstrapAdmin({ username: 'root', password: undefined });
    expect(first?.username).toBe('root');
    expect(first?.password).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(await auth.bootstrapAdmin({ username: 'root', password: undefined })).toBeNull();
    const res = await auth.login(
      { username: 'ROOT', password: first!.password! },
      { principal: null, requestId: 'r', ip: '' },
    );
    expect(res.user).toMatchObject({ username: 'root', role: 'admin', must_change_password: true });
    const principal = await auth.authenticate(res.token);
    expect(principal.permissions.has('users:write')).toBe(true);
  });
});
