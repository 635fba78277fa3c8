import type { JobError, JobState } from './tables.js';

/**
 * The job state machine. `retrying` is a queued job that already failed at least once and waits
 * out its backoff; `running → queued` is a release (the node shut down or an admin stopped the
 * worker), which gives the attempt back because the job did nothing wrong.
 */
const NEXT: Readonly<Record<JobState, readonly JobState[]>> = Object.freeze({
  queued: ['running', 'cancelled'],
  retrying: ['running', 'cancelled'],
  running: ['succeeded', 'failed', 'cancelled', 'retrying', 'queued'],
  succeeded: [],
  failed: [],
  cancelled: [],
});

export const CLAIMABLE: readonly JobState[] = ['queued', 'retrying'];
export const ACTIVE: readonly JobState[] = ['queued', 'retrying', 'running'];
export const TERMINAL: readonly JobState[] = ['succeeded', 'failed', 'cancelled'];

export const canMove = (from: JobState, to: JobState): boolean => NEXT[from].includes(to);
export const isTerminal = (s: JobState): boolean => TERMINAL.includes(s);

/** Backoff bounds: the first retry waits `baseSeconds`, each next one twice as long, up to `capSeconds`. */
export interface RetryPolicy {
  baseSeconds: number;
  capSeconds: number;
}

/** Seconds to wait before the attempt after `attemptsMade` failed ones (1 → base, 2 → 2·base, …). */
export function backoffSeconds(attemptsMade: number, policy: RetryPolicy): number {
  const n = Math.max(1, attemptsMade);
  // 2^30 already exceeds any cap; the bound keeps the power finite.
  return Math.min(policy.capSeconds, policy.baseSeconds * 2 ** Math.min(n - 1, 30));
}

export type FailureOutcome = { state: 'retrying'; nextAttemptAt: Date } | { state: 'failed' };

/**
 * What a failed attempt leads to: another attempt after the backoff when the failure is transient
 * and attempts remain, else the end. An invalid spec fails the same way every time, so it is never
 * retried.
 */
export function afterFailure(
  job: { attempts: number; maxAttempts: number },
  error: Pick<JobError, 'transient'>,
  now: Date,
  policy: RetryPolicy,
): FailureOutcome {
  if (!error.transient || job.attempts >= job.maxAttempts) return { state: 'failed' };
  return {
    state: 'retrying',
    nextAttemptAt: new Date(now.getTime() + backoffSeconds(job.attempts, policy) * 1000),
  };
}

/**
 * Seconds left from the share done so far and the time it took; null until there is enough
 * progress for the rate to mean something.
 */
export function estimateEta(progress: number, elapsedMs: number): number | null {
  if (progress < 0.02 || progress >= 1 || elapsedMs <= 0) return progress >= 1 ? 0 : null;
  return Math.ceil(((elapsedMs / progress) * (1 - progress)) / 1000);
}
