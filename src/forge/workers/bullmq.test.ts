import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type BullmqDispatch, createBullmqDispatch } from './bullmq.js';

const REDIS_URL = process.env.POLAR_TEST_REDIS_URL;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const until = async (cond: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(20);
  }
};

/** Three processes' dispatches on one Redis, under a prefix of this run's own. */
describe.skipIf(!REDIS_URL)('BullMQ dispatch', () => {
  const log = pino({ level: 'silent' });
  let redis: Redis;
  let open: BullmqDispatch[] = [];
  let prefix: string;

  const dispatch = (capacity: () => number = () => 1) => {
    const d = createBullmqDispatch({ redis, prefix, log });
    d.setCapacity(capacity);
    open.push(d);
    return d;
  };
  const wakes = (d: BullmqDispatch) => {
    const seen = { n: 0 };
    d.onReady(() => seen.n++);
    return seen;
  };

  beforeAll(() => {
    redis = new Redis(REDIS_URL!);
  });
  afterEach(async () => {
    for (const d of open) d.close();
    await Promise.all(open.map((d) => d.closed()));
    open = [];
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
  });
  afterAll(() => redis?.disconnect());

  it("wakes another process's idle workers once per announced job", async () => {
    prefix = `polar-test-${randomUUID()}`;
    const node = dispatch();
    await node.ready();
    const worker = wakes(dispatch());
    node.announce('job-a');
    node.announce('job-a');
    await until(() => worker.n >= 1);
    await sleep(400);
    // The second announcement of the same job was the same message.
    expect(worker.n).toBe(1);
    node.announce('job-b');
    await until(() => worker.n >= 2);
  });

  it('leaves messages to a process that has an idle worker', async () => {
    prefix = `polar-test-${randomUUID()}`;
    const node = dispatch();
    const busy = wakes(dispatch(() => 0));
    let idleCapacity = 0;
    const idle = wakes(dispatch(() => idleCapacity));
    await node.ready();
    for (let i = 0; i < 3; i++) node.announce(`job-${i}`);
    await sleep(600);
    // Nobody can act on them yet: they wait in Redis, none is consumed and lost.
    expect(busy.n + idle.n).toBe(0);
    idleCapacity = 1;
    await until(() => idle.n >= 3, 8000);
    expect(busy.n).toBe(0);
  });

  it('delivers a delayed announcement (a retry after its backoff) when it is due, not before', async () => {
    prefix = `polar-test-${randomUUID()}`;
    const node = dispatch();
    await node.ready();
    const worker = wakes(dispatch());
    const at = Date.now() + 800;
    let wokenAt = 0;
    open[1]?.onReady(() => {
      wokenAt ||= Date.now();
    });
    node.announce('job-later', new Date(at));
    await until(() => worker.n >= 1, 5000);
    expect(wokenAt).toBeGreaterThanOrEqual(at - 20);
  });
});
