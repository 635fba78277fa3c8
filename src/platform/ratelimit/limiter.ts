import type { Redis } from 'ioredis';

/**
 * Fixed-window counters. In memory on one node; in Redis when configured, so every node shares the
 * same counts. `hit` counts one event and says whether it is within `max` for the window.
 */
export interface HitResult {
  allowed: boolean;
  count: number;
  remaining: number;
  /** Milliseconds until the window resets. */
  resetMs: number;
}

export interface Limiter {
  hit(key: string, max: number, windowMs: number, cost?: number): Promise<HitResult>;
  /** Current count without counting. */
  peek(key: string, windowMs: number): Promise<number>;
  reset(key: string): Promise<void>;
}

export function memoryLimiter(now: () => number = Date.now): Limiter {
  const windows = new Map<string, { count: number; resetAt: number }>();
  const sweep = (t: number) => {
    if (windows.size < 50_000) return;
    for (const [k, w] of windows) if (w.resetAt <= t) windows.delete(k);
  };
  const current = (key: string, windowMs: number, t: number) => {
    let w = windows.get(key);
    if (!w || w.resetAt <= t) {
      w = { count: 0, resetAt: t + windowMs };
      windows.set(key, w);
    }
    return w;
  };
  return {
    async hit(key, max, windowMs, cost = 1) {
      const t = now();
      sweep(t);
      const w = current(key, windowMs, t);
      w.count += cost;
      return {
        allowed: w.count <= max,
        count: w.count,
        remaining: Math.max(0, max - w.count),
        resetMs: w.resetAt - t,
      };
    },
    async peek(key, windowMs) {
      return current(key, windowMs, now()).count;
    },
    async reset(key) {
      windows.delete(key);
    },
  };
}

export function redisLimiter(redis: Redis, prefix = 'polar:rl:'): Limiter {
  return {
    async hit(key, max, windowMs, cost = 1) {
      const k = prefix + key;
      const res = await redis.multi().incrby(k, cost).pexpire(k, windowMs, 'NX').pttl(k).exec();
      const count = Number(res?.[0]?.[1] ?? 0);
      const ttl = Number(res?.[2]?.[1] ?? windowMs);
      return {
        allowed: count <= max,
        count,
        remaining: Math.max(0, max - count),
        resetMs: ttl > 0 ? ttl : windowMs,
      };
    },
    async peek(key) {
      return Number((await redis.get(prefix + key)) ?? 0);
    },
    async reset(key) {
      await redis.del(prefix + key);
    },
  };
}
