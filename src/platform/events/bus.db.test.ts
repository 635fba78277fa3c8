import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabase } from '../../../test/helpers/db.js';
import { startEventPruning } from '../../hub/events/retention.js';
import { eventSettings, type SettingsReader } from '../../hub/settings/registry.js';
import type { Database } from '../db/client.js';
import { events } from '../db/tables.js';
import { createEventBus, type EventBus, type Fanout, type PolarEvent } from './bus.js';

let database: Database;
let bus: EventBus;
beforeAll(async () => {
  database = await testDatabase();
  bus = createEventBus(database.db);
});
afterAll(async () => database?.close());

describe('event bus on the database', () => {
  it('stores events with increasing ids and replays them by topic, oldest first', async () => {
    const a = await bus.publish({ topic: 'models', type: 'a', data: { n: 1 } });
    const b = await bus.publish({ topic: 'training', type: 'b', data: {} });
    const c = await bus.publish({ topic: 'models', type: 'c', data: {}, userId: 'u1' });
    expect(b.id).toBeGreaterThan(a.id);
    expect(c.id).toBeGreaterThan(b.id);
    const replay = await bus.since(a.id - 1, ['models'], 10);
    expect(replay.map((e) => e.type)).toEqual(['a', 'c']);
    expect(replay[0]).toEqual({ ...a });
    expect((await bus.since(a.id - 1, ['models', 'training'], 2)).map((e) => e.type)).toEqual(['a', 'b']);
    expect(await bus.since(0, [], 10)).toEqual([]);
  });

  it("replays for one user without other users' events", async () => {
    const start = (await bus.publish({ topic: 'jobs', type: 'start', data: {} })).id;
    await bus.publish({ topic: 'jobs', type: 'mine', data: {}, userId: 'u1' });
    await bus.publish({ topic: 'jobs', type: 'theirs', data: {}, userId: 'u2' });
    await bus.publish({ topic: 'jobs', type: 'everyone', data: {} });
    expect((await bus.since(start, ['jobs'], 10, 'u1')).map((e) => e.type)).toEqual(['mine', 'everyone']);
    expect((await bus.since(start, ['jobs'], 10)).map((e) => e.type)).toEqual(['mine', 'theirs', 'everyone']);
  });

  it('delivers internal events to listeners and fan-out without storing them', async () => {
    const sent: PolarEvent[] = [];
    const fanout: Fanout = {
      send: async (e) => {
        sent.push(e);
      },
      onReceive: () => {},
      close: async () => {},
    };
    const withFanout = createEventBus(database.db, fanout);
    const seen: PolarEvent[] = [];
    withFanout.subscribe((e) => seen.push(e));
    const before = (await database.db.select().from(events)).length;
    await withFanout.publish({ topic: 'internal', type: 'principal.revoked', data: { user_id: 'u1' } });
    expect(seen.map((e) => e.type)).toEqual(['principal.revoked']);
    expect(sent.map((e) => e.type)).toEqual(['principal.revoked']);
    expect((await database.db.select().from(events)).length).toBe(before);
  });

  it('reports the oldest stored id and prunes by age', async () => {
    const oldest = await bus.oldestId();
    expect(oldest).toBe((await bus.since(0, ['models'], 1))[0]?.id);
    await database.db
      .insert(events)
      .values({ topic: 'models', type: 'old', data: {}, at: new Date(Date.now() - 5 * 3_600_000) });
    const settings: SettingsReader = {
      get: (def) => def.schema.parse((def as unknown) === eventSettings ? { keep_hours: 1 } : {}),
    };
    const stop = startEventPruning({ bus, settings, log: pino({ level: 'silent' }) });
    await stop();
    const left = await database.db.select().from(events);
    expect(left.some((e) => e.type === 'old')).toBe(false);
    expect(left.length).toBeGreaterThan(0);
    expect(await bus.oldestId()).toBe(oldest);
    expect(await bus.prune(new Date(Date.now() + 60_000))).toBe(left.length);
    expect(await bus.oldestId()).toBeNull();
  });
});
