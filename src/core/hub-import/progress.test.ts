import { describe, expect, it } from 'vitest';
import { type DownloadProgress, ProgressTracker } from './progress.js';
import { backoffMs, RetryableError, sleep, withRetry } from './retry.js';

describe('ProgressTracker', () => {
  it('reports speed and ETA from a controlled clock, throttled, with the final report always sent', () => {
    let now = 0;
    const reports: DownloadProgress[] = [];
    const t = new ProgressTracker(
      'f',
      1000,
      100,
      (p) => reports.push(p),
      () => now,
    );
    now = 1000;
    t.update(300);
    now = 1100;
    t.update(350);
    expect(reports).toHaveLength(1);
    expect(reports[0]).toEqual({
      path: 'f',
      bytesDone: 300,
      bytesTotal: 1000,
      bytesPerSecond: 200,
      etaSeconds: 3.5,
    });
    now = 1150;
    t.update(1000, true);
    expect(reports.at(-1)).toMatchObject({ bytesDone: 1000, etaSeconds: 0 });
  });

  it('has no ETA before any speed is known', () => {
    const t = new ProgressTracker('f', 1000, 0, undefined, () => 5);
    expect(t.snapshot().etaSeconds).toBeNull();
  });
});

describe('retry', () => {
  it('backs off exponentially within the ceiling', () => {
    const policy = { retries: 5, baseDelayMs: 100, maxDelayMs: 1000 };
    expect(backoffMs(policy, 0, () => 1)).toBe(100);
    expect(backoffMs(policy, 3, () => 0)).toBe(400);
    expect(backoffMs(policy, 10, () => 1)).toBe(1000);
  });

  it('retries only retryable failures, and progress resets the count', async () => {
    const policy = { retries: 1, baseDelayMs: 0, maxDelayMs: 0 };
    let calls = 0;
    const result = await withRetry(policy, undefined, async (progress) => {
      calls += 1;
      if (calls < 4) {
        progress();
        throw new RetryableError('again');
      }
      return 'ok';
    });
    expect(result).toBe('ok');
    calls = 0;
    await expect(
      withRetry(policy, undefined, async () => {
        calls += 1;
        throw new RetryableError('again');
      }),
    ).rejects.toThrow('again');
    expect(calls).toBe(2);
    await expect(
      withRetry(policy, undefined, async () => Promise.reject(new Error('fatal'))),
    ).rejects.toThrow('fatal');
  });

  it('stops waiting when the signal aborts', async () => {
    const controller = new AbortController();
    const wait = sleep(10_000, controller.signal);
    controller.abort(new Error('stop'));
    await expect(wait).rejects.toThrow('stop');
  });
});
