import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { afterFailure, backoffSeconds, canMove, estimateEta, isTerminal } from './state.js';
import { JOB_STATES } from './tables.js';

const policy = { baseSeconds: 10, capSeconds: 600 };

describe('job state machine', () => {
  it('allows exactly the documented transitions', () => {
    const allowed = JOB_STATES.flatMap((from) =>
      JOB_STATES.filter((to) => canMove(from, to)).map((to) => `${from}→${to}`),
    );
    expect(allowed.sort()).toEqual(
      [
        'queued→running',
        'queued→cancelled',
        'retrying→running',
        'retrying→cancelled',
        'running→succeeded',
        'running→failed',
        'running→cancelled',
        'running→retrying',
        'running→queued',
      ].sort(),
    );
  });

  it('ends in succeeded, failed and cancelled, from which nothing moves', () => {
    for (const s of JOB_STATES) {
      expect(isTerminal(s)).toBe(['succeeded', 'failed', 'cancelled'].includes(s));
      if (isTerminal(s)) for (const to of JOB_STATES) expect(canMove(s, to)).toBe(false);
    }
  });
});

describe('retries', () => {
  const now = new Date('2030-01-01T00:00:00Z');

  it('doubles the backoff from the base up to the cap', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffSeconds(n, policy))).toEqual([
      10, 20, 40, 80, 160, 320, 600, 600,
    ]);
    expect(backoffSeconds(10_000, policy)).toBe(600);
  });

  it('retries a transient failure while attempts remain, after the backoff', () => {
    const r = afterFailure({ attempts: 2, maxAttempts: 3 }, { transient: true }, now, policy);
    expect(r).toEqual({ state: 'retrying', nextAttemptAt: new Date(now.getTime() + 20_000) });
  });

  it('never retries a permanent failure', () => {
    expect(afterFailure({ attempts: 1, maxAttempts: 5 }, { transient: false }, now, policy)).toEqual({
      state: 'failed',
    });
  });

  it('fails once the last attempt failed', () => {
    expect(afterFailure({ attempts: 3, maxAttempts: 3 }, { transient: true }, now, policy)).toEqual({
      state: 'failed',
    });
  });

  it('never schedules a retry in the past nor beyond the cap', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 3600 }),
        fc.integer({ min: 1, max: 86_400 }),
        (attempts, base, cap) => {
          const s = backoffSeconds(attempts, { baseSeconds: base, capSeconds: cap });
          return s > 0 && s <= Math.max(cap, 0) && s <= base * 2 ** (attempts - 1);
        },
      ),
    );
  });
});

describe('eta', () => {
  it('extrapolates the time per share done', () => {
    expect(estimateEta(0.25, 10_000)).toBe(30);
    expect(estimateEta(0.5, 10_000)).toBe(10);
  });
  it('says nothing before there is progress, and zero at the end', () => {
    expect(estimateEta(0, 10_000)).toBeNull();
    expect(estimateEta(0.01, 10_000)).toBeNull();
    expect(estimateEta(1, 10_000)).toBe(0);
  });
});
