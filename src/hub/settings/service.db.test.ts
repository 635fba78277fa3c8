import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { and, eq } from 'drizzle-orm';
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { testDatabase } from '../../../test/helpers/db.js';
import type { Database } from '../../platform/db/client.js';
import { AppError } from '../../platform/errors.js';
import {
  createEventBus,
  type EventListener,
  type Fanout,
  type PolarEvent,
} from '../../platform/events/bus.js';
import { createAuditRepository } from '../audit/repository.js';
import { createAuditService } from '../audit/service.js';
import { permissionsOf } from '../auth/permissions.js';
import type { RequestContext } from '../auth/principal.js';
import { auditLog, settings, settingsHistory } from '../tables.js';
import { createSettingsRegistry, defineSection, HUB_SECTIONS, secret, securitySettings } from './registry.js';
import { createSettingsRepository } from './repository.js';
import { createSettingsService, type SettingsService } from './service.js';

const provider = defineSection({
  scope: 'gateway',
  section: 'provider',
  description: 'An upstream provider',
  schema: z.strictObject({
    api_key: secret().optional().describe('Provider key'),
    timeout_ms: z.number().int().min(100).max(60_000).default(5_000),
    region: z.string().default('eu'),
  }),
});
const KEY = 'sk-live-secret-value-7f3a9c21';

let database: Database;
const logs: string[] = [];
const logger = pino(
  { level: 'debug' },
  new Writable({
    write(chunk, _e, cb) {
      logs.push(String(chunk));
      cb();
    },
  }),
);
const masterKey = randomBytes(32);
const ctx: RequestContext = {
  principal: {
    userId: 'u_admin',
    username: 'root',
    role: 'admin',
    permissions: permissionsOf('admin'),
    via: 'session',
  },
  requestId: 'req-1',
  ip: '127.0.0.1',
};

/** Buses of two simulated nodes, joined the way Redis joins real ones. */
function linkedFanouts(): [Fanout, Fanout] {
  const receivers: EventListener[][] = [[], []];
  const make = (me: number): Fanout => ({
    async send(e: PolarEvent) {
      for (const l of receivers[1 - me]!) l(e);
    },
    onReceive: (l) => void receivers[me]!.push(l),
    async close() {},
  });
  return [make(0), make(1)];
}

async function node(
  opts: { key?: Buffer; fanout?: Fanout; base?: Record<string, Record<string, unknown>> } = {},
) {
  const bus = createEventBus(database.db, opts.fanout);
  const audit = createAuditService({ repo: createAuditRepository(database.db), bus, log: logger });
  const service = await createSettingsService({
    registry: createSettingsRegistry([...HUB_SECTIONS, provider]),
    repo: createSettingsRepository(database.db),
    audit,
    bus,
    log: logger,
    key: opts.key ?? masterKey,
    ...(opts.base ? { base: opts.base } : {}),
  });
  return { service, bus };
}

const rawRow = async (scope: string, section: string) => {
  const [r] = await database.db
    .select()
    .from(settings)
    .where(and(eq(settings.scope, scope), eq(settings.section, section)));
  return r;
};

let s: SettingsService;
beforeAll(async () => {
  database = await testDatabase();
});
afterAll(async () => database?.close());
beforeEach(async () => {
  await database.db.delete(settings);
  await database.db.delete(settingsHistory);
  s = (await node()).service;
});

describe('secrets at rest', () => {
  it('are stored encrypted, served decrypted in memory, masked in answers, history and audit', async () => {
    const view = await s.update(ctx, { scope: 'gateway', section: 'provider', values: { api_key: KEY } });
    expect(view).toMatchObject({ version: 1, values: { api_key: '••••9c21', timeout_ms: 5000 } });

    const row = await rawRow('gateway', 'provider');
    expect(JSON.stringify(row)).not.toContain(KEY);
    expect(JSON.stringify(row)).not.toContain('9c21');
    expect(row?.values.api_key).toMatchObject({ $enc: expect.stringMatching(/^v1\./) });

    expect(s.get(provider).api_key).toBe(KEY);
    const history = await database.db.select().from(settingsHistory);
    expect(history).toHaveLength(1);
    expect(history[0]?.changes).toEqual({ api_key: { from: null, to: '(secret changed)' } });
    const audit = await database.db.select().from(auditLog).where(eq(auditLog.action, 'settings.update'));
    expect(audit.at(-1)?.details).toEqual({ version: 1, changed: ['api_key'] });
    expect(JSON.stringify(audit)).not.toContain(KEY);
    expect(logs.join('\n')).not.toContain(KEY);
  });

  it('survive a restart with the same key; another key cannot read them and they fall back to unset', async () => {
    await s.update(ctx, { scope: 'gateway', section: 'provider', values: { api_key: KEY, region: 'us' } });
    const again = (await node()).service;
    expect(again.get(provider)).toMatchObject({ api_key: KEY, region: 'us' });
    expect(again.version(provider)).toBe(1);

    const before = logs.length;
    const wrong = (await node({ key: randomBytes(32) })).service;
    expect(wrong.get(provider).api_key).toBeUndefined();
    expect(wrong.get(provider).region).toBe('us');
    const warning = logs.slice(before).join('\n');
    expect(warning).toContain('api_key');
    expect(warning).not.toContain(KEY);
  });

  it('a PUT that sends the mask back keeps the secret; null unsets it', async () => {
    const v1 = await s.update(ctx, { scope: 'gateway', section: 'provider', values: { api_key: KEY } });
    const v2 = await s.update(ctx, {
      scope: 'gateway',
      section: 'provider',
      values: { ...v1.values, timeout_ms: 250 },
    });
    expect(v2.version).toBe(2);
    expect(s.get(provider)).toMatchObject({ api_key: KEY, timeout_ms: 250 });
    const v3 = await s.update(ctx, { scope: 'gateway', section: 'provider', values: { api_key: null } });
    expect(v3.values.api_key).toBeNull();
    expect(s.get(provider).api_key).toBeUndefined();
  });
});

describe('updates', () => {
  it('merge partial values, refuse unknown fields and bad values, and skip writes that change nothing', async () => {
    await s.update(ctx, { scope: 'security', section: 'auth', values: { api_per_minute: 100 } });
    const v = await s.update(ctx, { scope: 'security', section: 'auth', values: { login_per_minute: 3 } });
    expect(v.values).toEqual({ session_ttl_hours: 168, login_per_minute: 3, api_per_minute: 100 });
    expect(v.version).toBe(2);

    const same = await s.update(ctx, { scope: 'security', section: 'auth', values: { login_per_minute: 3 } });
    expect(same.version).toBe(2);

    const unknown = s.update(ctx, { scope: 'security', section: 'auth', values: { colour: 'red' } });
    await expect(unknown).rejects.toMatchObject({ status: 400, code: 'unknown_setting_field' });
    const bad = s.update(ctx, { scope: 'security', section: 'auth', values: { api_per_minute: 0 } });
    await expect(bad).rejects.toMatchObject({ status: 400, errors: [{ path: 'body.api_per_minute' }] });
    const missing = s.update(ctx, { scope: 'security', section: 'nope', values: {} });
    await expect(missing).rejects.toMatchObject({ status: 404, code: 'settings_section_not_found' });
    expect(s.get(securitySettings).api_per_minute).toBe(100);
  });

  it('two updates from the same version: one wins, the other gets 409 (also for the first write)', async () => {
    for (const expectedVersion of [0, 1]) {
      const results = await Promise.allSettled(
        [10, 20].map((n) =>
          s.update(ctx, {
            scope: 'security',
            section: 'auth',
            values: { login_per_minute: n + expectedVersion * 100 },
            expectedVersion,
          }),
        ),
      );
      const ok = results.filter((r) => r.status === 'fulfilled');
      const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(ok).toHaveLength(1);
      expect(failed).toHaveLength(1);
      expect(failed[0]?.reason).toBeInstanceOf(AppError);
      expect(failed[0]?.reason).toMatchObject({ status: 409, code: 'settings_version_conflict' });
      expect((await rawRow('security', 'auth'))?.version).toBe(expectedVersion + 1);
    }
  });

  it('concurrent updates without a version both apply, one after the other', async () => {
    const other = (await node()).service;
    await Promise.all([
      s.update(ctx, { scope: 'security', section: 'auth', values: { login_per_minute: 7 } }),
      other.update(ctx, { scope: 'security', section: 'auth', values: { api_per_minute: 70 } }),
    ]);
    const row = await rawRow('security', 'auth');
    expect(row).toMatchObject({ version: 2, values: { login_per_minute: 7, api_per_minute: 70 } });
  });

  it('a stale expected version is refused and names the current one', async () => {
    await s.update(ctx, { scope: 'security', section: 'auth', values: { login_per_minute: 5 } });
    const stale = s.update(ctx, {
      scope: 'security',
      section: 'auth',
      values: { login_per_minute: 6 },
      expectedVersion: 0,
    });
    await expect(stale).rejects.toMatchObject({ status: 409, message: expect.stringContaining('version 1') });
  });

  it('base values sit under stored ones', async () => {
    const n = (await node({ base: { 'security/auth': { login_per_minute: 9999 } } })).service;
    expect(n.get(securitySettings).login_per_minute).toBe(9999);
    await n.update(ctx, { scope: 'security', section: 'auth', values: { api_per_minute: 42 } });
    expect(n.get(securitySettings)).toMatchObject({ login_per_minute: 9999, api_per_minute: 42 });
    await n.update(ctx, { scope: 'security', section: 'auth', values: { login_per_minute: 2 } });
    expect(n.get(securitySettings).login_per_minute).toBe(2);
  });
});

describe('hot reload', () => {
  it('a change on one node reaches listeners there and on another node through the bus', async () => {
    const [fa, fb] = linkedFanouts();
    const a = (await node({ fanout: fa })).service;
    const b = (await node({ fanout: fb })).service;
    const seenA: number[] = [];
    const seenB: Array<[number, number]> = [];
    a.onChange(securitySettings, (v) => seenA.push(v.api_per_minute));
    const reloaded = new Promise<void>((resolve) =>
      b.onChange(securitySettings, (v, prev) => {
        seenB.push([v.api_per_minute, prev.api_per_minute]);
        resolve();
      }),
    );
    await a.update(ctx, { scope: 'security', section: 'auth', values: { api_per_minute: 123 } });
    expect(seenA).toEqual([123]);
    await reloaded;
    expect(seenB).toEqual([[123, 6000]]);
    expect(b.get(securitySettings).api_per_minute).toBe(123);
    expect(b.version(securitySettings)).toBe(1);
  });

  it('publishes a masked settings event for clients', async () => {
    const { service, bus } = await node();
    const events: PolarEvent[] = [];
    bus.subscribe((e) => events.push(e));
    await service.update(ctx, { scope: 'gateway', section: 'provider', values: { api_key: KEY } });
    const client = events.find((e) => e.topic === 'settings');
    expect(client).toMatchObject({
      type: 'settings.updated',
      data: { scope: 'gateway', changed: ['api_key'] },
    });
    expect(events.find((e) => e.topic === 'internal')?.type).toBe('settings.changed');
    expect(JSON.stringify(events)).not.toContain(KEY);
  });
});

describe('history', () => {
  it('pages newest first, per section and across sections, with who changed what', async () => {
    for (const n of [1, 2, 3]) {
      await s.update(ctx, { scope: 'security', section: 'auth', values: { login_per_minute: n } });
    }
    await s.update(ctx, { scope: 'events', section: 'retention', values: { keep_hours: 5 } });
    const p1 = await s.history(ctx, { scope: 'security', section: 'auth', limit: 2 });
    expect(p1.items.map((h) => h.version)).toEqual([3, 2]);
    expect(p1.items[0]).toMatchObject({
      changes: { login_per_minute: { from: 2, to: 3 } },
      changed_by: 'u_admin',
      request_id: 'req-1',
    });
    const p2 = await s.history(ctx, {
      scope: 'security',
      section: 'auth',
      limit: 2,
      cursor: p1.next_cursor!,
    });
    expect(p2.items.map((h) => h.version)).toEqual([1]);
    expect(p2.next_cursor).toBeNull();
    const all = await s.history(ctx, { limit: 10 });
    expect(all.items.map((h) => `${h.scope}/${h.section}`)).toEqual([
      'events/retention',
      'security/auth',
      'security/auth',
      'security/auth',
    ]);
    await expect(s.history(ctx, { limit: 2, cursor: 'nonsense!' })).rejects.toMatchObject({ status: 400 });
  });
});
