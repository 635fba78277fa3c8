export interface RetryPolicy {
  /** Attempts after the first one. */
  retries: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 5, baseDelayMs: 500, maxDelayMs: 30_000 };

/** Exponential backoff with full jitter, so many clients retrying one hub do not march in step. */
export function backoffMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** Waits `ms`, or rejects as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** A failure worth trying again: the hub or the network, not the request. */
export class RetryableError extends Error {
  override readonly name = 'RetryableError';
}

/**
 * Runs `attempt` until it succeeds or fails with something other than RetryableError, at most
 * `policy.retries` extra times. `attempt` reports whether it made progress; progress resets the count,
 * so a long file over a flaky link finishes as long as each try moves it forward.
 */
export async function withRetry<T>(
  policy: RetryPolicy,
  signal: AbortSignal | undefined,
  attempt: (markProgress: () => void) => Promise<T>,
): Promise<T> {
  let failures = 0;
  for (;;) {
    let progressed = false;
    try {
      return await attempt(() => {
        progressed = true;
      });
    } catch (err) {
      if (!(err instanceof RetryableError)) throw err;
      failures = progressed ? 1 : failures + 1;
      if (failures > policy.retries) throw err;
      await sleep(backoffMs(policy, failures - 1), signal);
    }
  }
}
