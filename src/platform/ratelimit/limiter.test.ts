import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { type Limiter, memoryLimiter, redisLimiter } from './limiter.js';

const behaves = (make: () => Promise<{ limiter: Limiter; done: () => void }>) => {
  it('allows up to max in a window, then refuses, and resets', async () => {
    const { limiter, done } = await make();
    const key = `k${Math.random()}`;
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await limiter.hit(key, 3, 60_000));
    expect(results.map((r) => r.allowed)).toEqual([true, true, true, false]);
    expect(results[3]?.remaining).toBe(0);
    expect(results[0]?.resetMs).toBeGreaterThan(0);
    expect(await limiter.peek(key, 60_000)).toBe(4);
    await limiter.reset(key);
    expect((await limiter.hit(key, 3, 60_000)).allowed).toBe(true);
    expect((await limiter.hit(key, 3, 60_000, 5)).allowed).toBe(false);
    done();
  });
};

describe('memory limiter', () => {
  behaves(async () => ({ limiter: memoryLimiter(), done: () => {} }));

  it('opens a new window after windowMs', async () => {
    let now = 0;
    const l = memoryLimiter(() => now);
    expect((await l.hit('a', 1, 1000)).allowed).toBe(true);
    expect((await l.hit('a', 1, 1000)).allowed).toBe(false);
    now = 1000;
    expect((await l.hit('a', 1, 1000)).allowed).toBe(true);
  });
});

describe.skipIf(!process.env.POLAR_TEST_REDIS_URL)('redis limiter', () => {
  behaves(async () => {
    const redis = new Redis(process.env.POLAR_TEST_REDIS_URL!);
    return { limiter: redisLimiter(redis, `polar:test:${process.pid}:`), done: () => redis.disconnect() };
  });
});
