import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { testDatabase } from '../../../test/helpers/db.js';
import type { Database } from '../../platform/db/client.js';
import { createEventBus, type EventBus, type PolarEvent } from '../../platform/events/bus.js';
import { createLocalDispatch } from '../workers/dispatch.js';
import { createSweeper } from '../workers/sweeper.js';
import { createJobEvents } from './events.js';
import { createJobRepository, type JobRepository } from './repository.js';
import { trainingJobs } from './tables.js';

let database: Database;
let repo: JobRepository;
let bus: EventBus;
let clock: Date;
let seq = 0;
const events: PolarEvent[] = [];
const now = () => clock;
const policy = { baseSeconds: 10, capSeconds: 600 };
const T0 = new Date('2030-01-01T00:00:00.000Z');
const at = (ms: number) => new Date(T0.getTime() + ms);

beforeAll(async () => {
  database = await testDatabase();
  repo = createJobRepository(database.db);
  bus = createEventBus(database.db);
  bus.subscribe((e) => events.push(e));
});
afterAll(async () => database?.close());
beforeEach(async () => {
  await database.db.delete(trainingJobs);
  events.length = 0;
  clock = T0;
});

/** A queued job created `ageMs` after T0 (older jobs have smaller ages). */
const job = (o: { priority?: number; ageMs?: number; maxAttempts?: number; timeoutSeconds?: number } = {}) =>
  repo.insert({
    id: `job-${++seq}`,
    name: `job ${seq}`,
    ownerId: 'owner-1',
    spec: {},
    state: 'queued',
    priority: o.priority ?? 0,
    maxAttempts: o.maxAttempts ?? 3,
    timeoutSeconds: o.timeoutSeconds ?? 3600,
    createdAt: at(o.ageMs ?? 0),
    updatedAt: at(o.ageMs ?? 0),
  });

const sweeper = () =>
  createSweeper({
    repo,
    events: createJobEvents(bus, pino({ level: 'silent' })),
    dispatch: createLocalDispatch(now),
    now,
    policy: () => policy,
  });

describe('claim', () => {
  it('takes the highest priority first, then the oldest, then nothing', async () => {
    const low = await job({ priority: -1, ageMs: 1 });
    const normal = await job({ priority: 0, ageMs: 2 });
    const highNew = await job({ priority: 5, ageMs: 4 });
    const highOld = await job({ priority: 5, ageMs: 3 });
    const order: string[] = [];
    for (let i = 0; i < 4; i++) order.push((await repo.claim('w1', now(), 30_000))?.id ?? 'none');
    expect(order).toEqual([highOld.id, highNew.id, normal.id, low.id]);
    expect(await repo.claim('w1', now(), 30_000)).toBeUndefined();
  });

  it('starts an attempt: running, counted, leased, with a deadline from the timeout', async () => {
    const j = await job({ timeoutSeconds: 90 });
    const c = await repo.claim('w1', now(), 30_000);
    expect(c).toMatchObject({
      id: j.id,
      state: 'running',
      attempts: 1,
      leaseOwner: 'w1',
      leaseExpiresAt: at(30_000),
      heartbeatAt: T0,
      deadlineAt: at(90_000),
      startedAt: T0,
      attemptStartedAt: T0,
    });
  });

  it('gives each job to exactly one of many concurrent claimers (SKIP LOCKED)', async () => {
    const ids = [];
    for (let i = 0; i < 12; i++) ids.push((await job({ ageMs: i })).id);
    const got: string[] = [];
    const claimer = async (name: string) => {
      for (;;) {
        const c = await repo.claim(name, now(), 30_000);
        if (!c) return;
        expect(c.leaseOwner).toBe(name);
        got.push(c.id);
      }
    };
    await Promise.all(['a', 'b', 'c', 'd'].map(claimer));
    expect(got.sort()).toEqual(ids.sort());
    const rows = await database.db.select().from(trainingJobs);
    expect(rows.every((r) => r.state === 'running' && r.attempts === 1)).toBe(true);
  });

  it('two claimers racing for one job: one wins, the other gets nothing', async () => {
    const j = await job();
    const [a, b] = await Promise.all([repo.claim('a', now(), 30_000), repo.claim('b', now(), 30_000)]);
    expect([a?.id, b?.id].filter(Boolean)).toEqual([j.id]);
  });

  it('can be limited to one job id (queue adapters deliver ids)', async () => {
    await job({ priority: 9 });
    const j = await job();
    expect((await repo.claim('w', now(), 1000, j.id))?.id).toBe(j.id);
    expect(await repo.claim('w', now(), 1000, j.id)).toBeUndefined();
  });
});

describe('leases', () => {
  it('a heartbeat renews the lease only for the worker that holds it', async () => {
    const j = await job();
    await repo.claim('w1', now(), 10_000);
    clock = at(5000);
    expect(await repo.heartbeat(j.id, 'w2', now(), 10_000)).toBeUndefined();
    const r = await repo.heartbeat(j.id, 'w1', now(), 10_000, { progress: 40 });
    expect(r).toMatchObject({ leaseExpiresAt: at(15_000), heartbeatAt: at(5000), progress: 40 });
  });

  it('a cancelled job refuses its worker’s heartbeat and updates', async () => {
    const j = await job();
    await repo.claim('w1', now(), 10_000);
    expect((await repo.cancel(j.id, now()))?.state).toBe('cancelled');
    expect(await repo.heartbeat(j.id, 'w1', now(), 10_000)).toBeUndefined();
    expect(await repo.updateHeld(j.id, 'w1', now(), { state: 'succeeded' })).toBeUndefined();
    expect((await repo.get(j.id))?.state).toBe('cancelled');
    expect(await repo.cancel(j.id, now())).toBeUndefined();
  });

  it('an expired lease is queued again with the attempt counted, after the backoff', async () => {
    const j = await job();
    await repo.claim('dead-worker', now(), 10_000);
    const s = sweeper();
    clock = at(9_999);
    expect(await s.sweep()).toEqual({ timedOut: 0, requeued: 0, failed: 0 });
    clock = at(10_001);
    expect(await s.sweep()).toEqual({ timedOut: 0, requeued: 1, failed: 0 });
    const r = await repo.get(j.id);
    expect(r).toMatchObject({
      state: 'retrying',
      attempts: 1,
      leaseOwner: null,
      nextAttemptAt: at(20_001),
      error: { code: 'worker_lost', transient: true },
    });
    // The dead worker cannot write anymore, even if it wakes up.
    expect(await repo.heartbeat(j.id, 'dead-worker', now(), 10_000)).toBeUndefined();
    expect(events.some((e) => e.topic === 'training' && e.type === 'job.retrying')).toBe(true);
    const logs = await repo.logs(j.id, 0, 10);
    expect(logs.map((l) => l.message).join()).toContain('stopped renewing the lease');
  });

  it('honours the backoff of the injected clock, doubling per attempt, then fails', async () => {
    const j = await job({ maxAttempts: 3 });
    const s = sweeper();
    await repo.claim('w', now(), 1000);
    clock = at(1001);
    await s.sweep();
    // First retry: base (10 s) after the sweep.
    clock = at(1001 + 9_999);
    expect(await repo.claim('w', now(), 1000)).toBeUndefined();
    clock = at(1001 + 10_000);
    const second = await repo.claim('w', now(), 1000);
    expect(second).toMatchObject({ id: j.id, attempts: 2 });
    const t2 = clock.getTime() + 1001;
    clock = new Date(t2);
    await s.sweep();
    expect((await repo.get(j.id))?.nextAttemptAt).toEqual(new Date(t2 + 20_000));
    clock = new Date(t2 + 19_999);
    expect(await repo.claim('w', now(), 1000)).toBeUndefined();
    clock = new Date(t2 + 20_000);
    expect((await repo.claim('w', now(), 1000))?.attempts).toBe(3);
    clock = new Date(clock.getTime() + 1001);
    expect(await s.sweep()).toMatchObject({ failed: 1 });
    expect(await repo.get(j.id)).toMatchObject({ state: 'failed', attempts: 3, finishedAt: clock });
  });

  it('a job past its deadline fails with timeout and is not retried', async () => {
    const j = await job({ timeoutSeconds: 60 });
    await repo.claim('w', now(), 30_000);
    const s = sweeper();
    // The worker is alive (renewing its lease) but the attempt takes too long.
    clock = at(59_000);
    await repo.heartbeat(j.id, 'w', now(), 30_000);
    expect(await s.sweep()).toMatchObject({ timedOut: 0 });
    clock = at(60_001);
    expect(await s.sweep()).toMatchObject({ timedOut: 1 });
    expect(await repo.get(j.id)).toMatchObject({
      state: 'failed',
      error: { code: 'timeout', transient: false },
    });
    expect(events.some((e) => e.topic === 'internal' && e.type === 'training.stop_job')).toBe(true);
  });

  it('a release gives the attempt back and queues the job at once', async () => {
    const j = await job();
    await repo.claim('w', now(), 30_000);
    expect(await repo.release(j.id, 'other', now())).toBeUndefined();
    expect(await repo.release(j.id, 'w', now())).toMatchObject({
      state: 'queued',
      attempts: 0,
      leaseOwner: null,
    });
    expect((await repo.claim('w2', now(), 30_000))?.id).toBe(j.id);
  });
});

describe('logs and metrics', () => {
  it('pages log lines by id', async () => {
    const j = await job();
    const lines = await repo.appendLogs(
      Array.from({ length: 5 }, (_, i) => ({
        jobId: j.id,
        attempt: 1,
        level: 'info' as const,
        message: `l${i}`,
        at: T0,
      })),
    );
    const first = await repo.logs(j.id, 0, 2);
    expect(first.map((l) => l.message)).toEqual(['l0', 'l1', 'l2']);
    const rest = await repo.logs(j.id, lines[1]!.id, 10);
    expect(rest.map((l) => l.message)).toEqual(['l2', 'l3', 'l4']);
  });

  it('writes a burst larger than one statement can carry', async () => {
    const j = await job();
    const points = Array.from({ length: 12_000 }, (_, i) => ({
      jobId: j.id,
      attempt: 1,
      name: 'loss',
      step: i,
      value: 1 / (i + 1),
      at: T0,
    }));
    await repo.appendMetrics(points);
    expect(await repo.metrics(j.id, 1)).toHaveLength(12_000);
    const lines = await repo.appendLogs(
      Array.from({ length: 14_000 }, (_, i) => ({
        jobId: j.id,
        attempt: 1,
        level: 'info' as const,
        message: `${i}`,
        at: T0,
      })),
    );
    expect(lines.map((l) => l.message)).toEqual(Array.from({ length: 14_000 }, (_, i) => `${i}`));
  });

  it('keeps metric series per attempt in step order', async () => {
    const j = await job();
    await repo.appendMetrics([
      { jobId: j.id, attempt: 1, name: 'loss', step: 2, value: 0.5, at: T0 },
      { jobId: j.id, attempt: 1, name: 'loss', step: 1, value: 0.9, at: T0 },
      { jobId: j.id, attempt: 2, name: 'loss', step: 1, value: 0.8, at: T0 },
    ]);
    expect((await repo.metrics(j.id, 1)).map((m) => [m.step, m.value])).toEqual([
      [1, 0.9],
      [2, 0.5],
    ]);
    expect(await repo.metrics(j.id, 2, 'other')).toEqual([]);
  });
});
