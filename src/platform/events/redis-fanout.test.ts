import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PolarEvent } from './bus.js';
import { createRedisFanout, type RedisFanout } from './redis-fanout.js';

const REDIS_URL = process.env.POLAR_TEST_REDIS_URL;

const event = (type: string): PolarEvent => ({
  id: 1,
  topic: 'models',
  type,
  user_id: null,
  data: { n: 1 },
  at: new Date().toISOString(),
});

describe.skipIf(!REDIS_URL)('Redis fan-out', () => {
  const channel = `polar:test:fanout:${randomUUID()}`;
  const log = pino({ level: 'silent' });
  let redis: Redis;
  let a: RedisFanout;
  let b: RedisFanout;
  const atA: PolarEvent[] = [];
  const atB: PolarEvent[] = [];

  beforeAll(async () => {
    redis = new Redis(REDIS_URL!);
    a = createRedisFanout({ redis, log, channel });
    b = createRedisFanout({ redis, log, channel });
    a.onReceive((e) => atA.push(e));
    b.onReceive((e) => atB.push(e));
    await Promise.all([a.ready(), b.ready()]);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    redis?.disconnect();
  });

  const until = async (cond: () => boolean) => {
    for (let i = 0; i < 100 && !cond(); i++) await new Promise((r) => setTimeout(r, 20));
  };

  it('carries an event to the other node but not back to its sender', async () => {
    const first = event('first');
    await a.send(first);
    await b.send(event('second'));
    await until(() => atB.length >= 1 && atA.length >= 1);
    expect(atB.map((e) => e.type)).toEqual(['first']);
    expect(atA.map((e) => e.type)).toEqual(['second']);
    expect(atB[0]).toEqual(first);
  });

  it('ignores malformed messages on the channel', async () => {
    await redis.publish(channel, 'not json');
    await redis.publish(channel, JSON.stringify({ node: 'other', event: { id: 'x' } }));
    await a.send(event('after'));
    await until(() => atB.some((e) => e.type === 'after'));
    expect(atB.map((e) => e.type)).toEqual(['first', 'after']);
  });

  it('does not fail the sender when Redis cannot be reached', async () => {
    const down = new Redis('redis://127.0.0.1:1', {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => null,
    });
    down.on('error', () => {});
    const f = createRedisFanout({ redis: down, log, channel });
    await expect(f.send(event('lost'))).resolves.toBeUndefined();
    await f.close();
    down.disconnect();
  });
});
