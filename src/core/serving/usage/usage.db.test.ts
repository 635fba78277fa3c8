import { sql } from 'drizzle-orm';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { testDatabase } from '../../../../test/helpers/db.js';
import type { Database } from '../../../platform/db/client.js';
import { inferenceRecords } from '../tables.js';
import { createUsageRecorder, type InferenceRecord, type UsageRecorder } from './recorder.js';
import { createUsageRepository } from './repository.js';

let database: Database;
const log = pino({ level: 'silent' });
const open: UsageRecorder[] = [];

beforeAll(async () => {
  database = await testDatabase();
});
afterAll(async () => {
  for (const r of open) await r.close();
  await database?.close();
});
beforeEach(async () => {
  await database.db.delete(inferenceRecords);
});

const recorder = (o: { flushMs?: number; maxBatch?: number; maxBuffered?: number } = {}) => {
  const registry = new Registry();
  const r = createUsageRecorder({ db: database.db, registry, log, flushMs: 60_000, ...o });
  open.push(r);
  return { r, registry };
};
let seq = 0;
const rec = (o: Partial<InferenceRecord> = {}): InferenceRecord => ({
  requestId: `req-${++seq}`,
  modelId: 'model-a',
  modelName: 'tiny-a',
  version: 1,
  endpoint: 'chat_completions',
  userId: 'user-1',
  keyId: null,
  status: 'ok',
  tokensIn: 5,
  tokensOut: 10,
  latencyMs: 200,
  ttftMs: 20,
  ...o,
});
const stored = async () =>
  (await database.db.select().from(inferenceRecords).orderBy(inferenceRecords.id)).map((r) => r.requestId);
// A real failure: the table is renamed away while the recorder writes, then put back.
const breakTable = () =>
  database.db.execute(sql`alter table inference_records rename to inference_records_away`);
const fixTable = () =>
  database.db.execute(sql`alter table inference_records_away rename to inference_records`);
const droppedOf = async (registry: Registry, reason: string) =>
  (await registry.getSingleMetric('polar_inference_records_dropped_total')!.get()).values.find(
    (v) => v.labels.reason === reason,
  )?.value ?? 0;

describe('usage recorder', () => {
  it('writes nothing until a batch is full, then that batch; close() writes the rest', async () => {
    const { r } = recorder({ maxBatch: 3 });
    const ids = [rec(), rec(), rec(), rec()].map((x) => x.requestId);
    r.record(rec({ requestId: ids[0]! }));
    r.record(rec({ requestId: ids[1]! }));
    await new Promise((res) => setTimeout(res, 50));
    expect(await stored()).toEqual([]);
    r.record(rec({ requestId: ids[2]! }));
    await vi.waitFor(async () => expect(await stored()).toEqual(ids.slice(0, 3)));
    r.record(rec({ requestId: ids[3]! }));
    expect(r.buffered).toBe(1);
    await r.close();
    expect(await stored()).toEqual(ids);
    r.record(rec());
    expect(r.buffered).toBe(0);
  });

  it('flushes on its timer', async () => {
    const { r } = recorder({ flushMs: 30 });
    const x = rec();
    r.record(x);
    await vi.waitFor(async () => expect(await stored()).toEqual([x.requestId]));
    await r.close();
  });

  it('stores what it was given, bounding what it was not', async () => {
    const { r } = recorder();
    const at = new Date('2031-05-06T07:08:09.250Z');
    r.record(rec({ at, status: 'error', errorCode: 'model_crashed', version: null, keyId: 'k1', rows: 3 }));
    r.record({
      requestId: 'x'.repeat(1000),
      modelId: 'model-b',
      modelName: 'b',
      endpoint: 'predict',
      status: 'weird' as never,
      latencyMs: Number.NaN,
      tokensIn: -4,
      tokensOut: Number.POSITIVE_INFINITY,
      ttftMs: -1,
      at: new Date('nope'),
    });
    await r.flush();
    const rows = await database.db.select().from(inferenceRecords).orderBy(inferenceRecords.id);
    expect(rows[0]).toMatchObject({
      at,
      status: 'error',
      errorCode: 'model_crashed',
      version: null,
      keyId: 'k1',
      rows: 3,
      tokensIn: 5,
      tokensOut: 10,
      latencyMs: 200,
      ttftMs: 20,
      userId: 'user-1',
    });
    expect(rows[1]).toMatchObject({
      status: 'error',
      latencyMs: 0,
      tokensIn: 0,
      tokensOut: 0,
      ttftMs: null,
      userId: null,
      version: null,
    });
    expect(rows[1]!.requestId).toHaveLength(128);
    expect(Math.abs(rows[1]!.at.getTime() - Date.now())).toBeLessThan(60_000);
  });

  it('retries a failed insert once on the next flush, then drops and counts it', async () => {
    const { r, registry } = recorder({ maxBatch: 10 });
    const a = rec();
    const b = rec();
    await breakTable();
    try {
      r.record(a);
      r.record(b);
      await r.flush();
      expect(r.buffered).toBe(2);
    } finally {
      await fixTable();
    }
    await r.flush();
    expect(await stored()).toEqual([a.requestId, b.requestId]);
    expect(await droppedOf(registry, 'insert_failed')).toBe(0);

    await breakTable();
    try {
      r.record(rec());
      await r.flush();
      expect(r.buffered).toBe(1);
      await r.flush();
      expect(r.buffered).toBe(0);
    } finally {
      await fixTable();
    }
    expect(await droppedOf(registry, 'insert_failed')).toBe(1);
    expect(await stored()).toEqual([a.requestId, b.requestId]);
  });

  it('keeps at most maxBuffered rows while the database refuses, dropping the oldest', async () => {
    const { r, registry } = recorder({ maxBatch: 2, maxBuffered: 3 });
    const xs = Array.from({ length: 6 }, () => rec());
    await breakTable();
    try {
      for (const x of xs) r.record(x);
      expect(r.buffered).toBe(3);
      await r.flush();
    } finally {
      await fixTable();
    }
    expect(await droppedOf(registry, 'overflow')).toBe(3);
    await r.close();
    expect(await stored()).toEqual(xs.slice(3).map((x) => x.requestId));
    expect(await registry.metrics()).toContain(
      'polar_inference_requests_total{model="tiny-a",endpoint="chat_completions",status="ok"} 6',
    );
  });

  it('close() waits for a write in flight and gives a failing batch its retry', async () => {
    const { r, registry } = recorder({ maxBatch: 2 });
    const xs = Array.from({ length: 5 }, () => rec());
    for (const x of xs) r.record(x);
    await r.close();
    expect(await stored()).toEqual(xs.map((x) => x.requestId));

    const second = recorder({ maxBatch: 2 });
    await breakTable();
    try {
      for (let i = 0; i < 3; i++) second.r.record(rec());
      await second.r.close();
    } finally {
      await fixTable();
    }
    expect(second.r.buffered).toBe(0);
    expect(await droppedOf(second.registry, 'insert_failed')).toBe(3);
    expect(await droppedOf(registry, 'insert_failed')).toBe(0);
  });

  it('never throws into the caller', () => {
    const { r } = recorder();
    expect(() => r.record(null as never)).not.toThrow();
    expect(() => r.record({} as never)).not.toThrow();
  });
});

describe('usage summary', () => {
  const day = (d: string, h = 12) => new Date(`${d}T${String(h).padStart(2, '0')}:00:00Z`);

  it('totals per model, user and UTC day over [from, to)', async () => {
    const repo = createUsageRepository(database.db);
    const { r } = recorder();
    const rows: InferenceRecord[] = [
      rec({ at: day('2030-03-01', 0), modelId: 'm1', modelName: 'one', userId: 'u1', latencyMs: 100 }),
      rec({
        at: day('2030-03-01', 23),
        modelId: 'm1',
        modelName: 'one-renamed',
        userId: 'u2',
        latencyMs: 300,
      }),
      rec({
        at: day('2030-03-02'),
        modelId: 'm1',
        modelName: 'one-renamed',
        userId: 'u1',
        status: 'error',
        tokensOut: 0,
        ttftMs: null,
        latencyMs: 500,
      }),
      rec({
        at: day('2030-03-02'),
        modelId: 'm2',
        modelName: 'two',
        userId: null,
        endpoint: 'predict',
        rows: 7,
        tokensIn: 0,
        tokensOut: 0,
        ttftMs: null,
        latencyMs: 10,
      }),
      rec({
        at: day('2030-03-03'),
        modelId: 'm2',
        modelName: 'two',
        userId: 'u1',
        status: 'rejected',
        latencyMs: 1,
      }),
      // Outside the range on both ends.
      rec({ at: new Date('2030-02-28T23:59:59.999Z'), modelId: 'm1' }),
      rec({ at: day('2030-03-04', 0), modelId: 'm1' }),
    ];
    for (const x of rows) r.record(x);
    await r.flush();
    const range = { from: day('2030-03-01', 0), to: day('2030-03-04', 0) };

    const byModel = await repo.summary({ ...range, groupBy: 'model' });
    expect(byModel.map((g) => [g.key, g.name, g.requests])).toEqual([
      ['m1', 'one-renamed', 3],
      ['m2', 'two', 2],
    ]);
    expect(byModel[0]).toMatchObject({
      errors: 1,
      cancelled: 0,
      rejected: 0,
      tokensIn: 15,
      tokensOut: 20,
      rows: 0,
      latencyMsAvg: 300,
      ttftMsAvg: 20,
    });
    expect(byModel[0]!.latencyMsP95).toBeCloseTo(480);
    expect(byModel[1]).toMatchObject({ rejected: 1, rows: 7, tokensIn: 5, tokensOut: 10 });

    const byUser = await repo.summary({ ...range, groupBy: 'user' });
    expect(byUser.map((g) => [g.key, g.requests, g.name])).toEqual([
      ['u1', 3, null],
      ['u2', 1, null],
      // Requests without a user (internal callers) last.
      [null, 1, null],
    ]);

    const byDay = await repo.summary({ ...range, groupBy: 'day' });
    expect(byDay.map((g) => [g.key, g.requests])).toEqual([
      ['2030-03-01', 2],
      ['2030-03-02', 2],
      ['2030-03-03', 1],
    ]);
    expect(byDay[1]!.ttftMsAvg).toBeNull();

    expect(await repo.summary({ from: day('2031-01-01'), to: day('2031-01-02'), groupBy: 'model' })).toEqual(
      [],
    );
    expect(await repo.prune(range.from)).toBe(1);
    expect(await repo.summary({ from: day('2030-01-01'), to: day('2030-03-01', 0), groupBy: 'day' })).toEqual(
      [],
    );
  });
});
