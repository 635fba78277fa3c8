import type { JobEvents } from '../jobs/events.js';
import type { JobRepository } from '../jobs/repository.js';
import { afterFailure, type RetryPolicy } from '../jobs/state.js';
import type { JobError } from '../jobs/tables.js';
import type { JobDispatch } from './dispatch.js';

/**
 * Finds running jobs nobody is looking after: past their deadline (failed, `timeout`), or with a
 * lease that ran out because their worker died (queued again with the attempt counted, or failed
 * once attempts are used up). Safe on every node at once: each change is conditioned on the lease
 * the sweeper read, so only one sweeper, and never a late worker, decides a job's fate.
 */
export function createSweeper(deps: {
  repo: JobRepository;
  events: JobEvents;
  dispatch: JobDispatch;
  now: () => Date;
  policy: () => RetryPolicy;
}) {
  return {
    async sweep(): Promise<{ timedOut: number; requeued: number; failed: number }> {
      const now = deps.now();
      let timedOut = 0;
      let requeued = 0;
      let failed = 0;
      for (const row of await deps.repo.overdue(now)) {
        const error: JobError = {
          code: 'timeout',
          message: `The attempt ran longer than its timeout of ${row.timeoutSeconds} s`,
          transient: false,
        };
        const after = await deps.repo.sweep(row, now, {
          state: 'failed',
          error,
          message: 'Failed: timed out',
          etaSeconds: null,
          finishedAt: now,
        });
        if (!after) continue;
        timedOut++;
        await deps.repo.appendLogs([
          { jobId: row.id, attempt: row.attempts, level: 'error', message: error.message, at: now },
        ]);
        await deps.events.job(after, 'job.failed');
        // The worker, if it is alive on some node, kills its trainer.
        await deps.events.stopJob(row.id);
      }
      for (const row of await deps.repo.expiredLeases(now)) {
        const error: JobError = {
          code: 'worker_lost',
          message: `Its worker ${row.leaseOwner ?? ''} stopped renewing the lease`,
          transient: true,
        };
        const outcome = afterFailure(row, error, now, deps.policy());
        const after = await deps.repo.sweep(
          row,
          now,
          outcome.state === 'retrying'
            ? {
                state: 'retrying',
                error,
                nextAttemptAt: outcome.nextAttemptAt,
                message: 'Queued again: its worker was lost',
                etaSeconds: null,
              }
            : {
                state: 'failed',
                error,
                message: 'Failed: its worker was lost',
                etaSeconds: null,
                finishedAt: now,
              },
        );
        if (!after) continue;
        await deps.repo.appendLogs([
          { jobId: row.id, attempt: row.attempts, level: 'error', message: error.message, at: now },
        ]);
        if (outcome.state === 'retrying') {
          requeued++;
          await deps.events.job(after, 'job.retrying');
          deps.dispatch.announce(row.id, outcome.nextAttemptAt);
        } else {
          failed++;
          await deps.events.job(after, 'job.failed');
        }
      }
      return { timedOut, requeued, failed };
    },
  };
}
export type Sweeper = ReturnType<typeof createSweeper>;
