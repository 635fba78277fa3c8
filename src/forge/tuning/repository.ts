import { and, asc, count, eq, inArray, isNull, lt, ne, or } from 'drizzle-orm';
import type { Db } from '../../platform/db/client.js';
import type { HeldUpdate, JobRow } from '../jobs/repository.js';
import { trainingJobs } from '../jobs/tables.js';
import { type TrialState, tuningSearches, tuningTrials } from './tables.js';

export type SearchRow = typeof tuningSearches.$inferSelect;
export type TrialRow = typeof tuningTrials.$inferSelect;
export type NewTrial = typeof tuningTrials.$inferInsert;

/** Trials holding a concurrency slot. */
const BUSY: TrialState[] = ['dispatching', 'active'];

export function createTuningRepository(db: Db) {
  return {
    async insert(search: typeof tuningSearches.$inferInsert, trials: NewTrial[]): Promise<void> {
      await db.transaction(async (tx) => {
        await tx.insert(tuningSearches).values(search);
        if (trials.length > 0) await tx.insert(tuningTrials).values(trials);
      });
    },

    async search(jobId: string): Promise<SearchRow | undefined> {
      const [s] = await db.select().from(tuningSearches).where(eq(tuningSearches.jobId, jobId));
      return s;
    },

    /** Searches that have not ended, for the periodic pass that catches up on missed events. */
    async unfinished(limit = 100): Promise<SearchRow[]> {
      return db
        .select()
        .from(tuningSearches)
        .where(ne(tuningSearches.phase, 'done'))
        .orderBy(asc(tuningSearches.createdAt))
        .limit(limit);
    },

    async trials(searchId: string): Promise<TrialRow[]> {
      return db
        .select()
        .from(tuningTrials)
        .where(eq(tuningTrials.searchId, searchId))
        .orderBy(asc(tuningTrials.number));
    },

    async trialOfJob(jobId: string): Promise<TrialRow | undefined> {
      const [t] = await db.select().from(tuningTrials).where(eq(tuningTrials.jobId, jobId));
      return t;
    },

    /**
     * Takes the next pending trial of a searching search if a concurrency slot is free. The search
     * row's lock makes the count and the take one step for every node, so no two nodes together
     * exceed the limit.
     */
    async claimTrial(searchId: string, maxConcurrency: number, now: Date): Promise<TrialRow | undefined> {
      return db.transaction(async (tx) => {
        const [s] = await tx
          .select({ phase: tuningSearches.phase })
          .from(tuningSearches)
          .where(eq(tuningSearches.jobId, searchId))
          .for('update');
        if (s?.phase !== 'searching') return undefined;
        const [busy] = await tx
          .select({ n: count() })
          .from(tuningTrials)
          .where(and(eq(tuningTrials.searchId, searchId), inArray(tuningTrials.state, BUSY)));
        if (Number(busy?.n ?? 0) >= maxConcurrency) return undefined;
        const [next] = await tx
          .select({ id: tuningTrials.id })
          .from(tuningTrials)
          .where(and(eq(tuningTrials.searchId, searchId), eq(tuningTrials.state, 'pending')))
          .orderBy(asc(tuningTrials.number))
          .limit(1);
        if (!next) return undefined;
        const [t] = await tx
          .update(tuningTrials)
          .set({ state: 'dispatching', updatedAt: now })
          .where(eq(tuningTrials.id, next.id))
          .returning();
        return t;
      });
    },

    /** Changes a trial if it is still in one of `from` (a cancel or another node may have been first). */
    async updateTrial(
      id: string,
      from: TrialState[],
      set: Partial<Pick<NewTrial, 'state' | 'jobId' | 'metric' | 'error'>>,
      now: Date,
    ): Promise<TrialRow | undefined> {
      const [t] = await db
        .update(tuningTrials)
        .set({ ...set, updatedAt: now })
        .where(and(eq(tuningTrials.id, id), inArray(tuningTrials.state, from)))
        .returning();
      return t;
    },

    /** A node that died between taking a slot and dispatching left the trial `dispatching`: retake it. */
    async releaseStaleDispatching(searchId: string, olderThan: Date, now: Date): Promise<void> {
      await db
        .update(tuningTrials)
        .set({ state: 'pending', updatedAt: now })
        .where(
          and(
            eq(tuningTrials.searchId, searchId),
            eq(tuningTrials.state, 'dispatching'),
            isNull(tuningTrials.jobId),
            lt(tuningTrials.updatedAt, olderThan),
          ),
        );
    },

    /** Pending and dispatching trials of a search that ended: they will never run. */
    async cancelWaiting(searchId: string, now: Date): Promise<void> {
      await db
        .update(tuningTrials)
        .set({ state: 'cancelled', updatedAt: now })
        .where(
          and(eq(tuningTrials.searchId, searchId), inArray(tuningTrials.state, ['pending', 'dispatching'])),
        );
    },

    /** Adds the next rung's trials once, whichever node gets there first; false if one did. */
    async promote(searchId: string, fromRung: number, trials: NewTrial[], now: Date): Promise<boolean> {
      return db.transaction(async (tx) => {
        const [s] = await tx
          .update(tuningSearches)
          .set({ rung: fromRung + 1, updatedAt: now })
          .where(
            and(
              eq(tuningSearches.jobId, searchId),
              eq(tuningSearches.rung, fromRung),
              eq(tuningSearches.phase, 'searching'),
            ),
          )
          .returning({ id: tuningSearches.jobId });
        if (!s) return false;
        if (trials.length > 0) await tx.insert(tuningTrials).values(trials);
        return true;
      });
    },

    /**
     * Takes the finishing step for this node: from `searching`, or from a node that took it more
     * than `staleMs` ago and has not ended it (it died).
     */
    async takeFinishing(searchId: string, now: Date, staleMs: number): Promise<boolean> {
      const res = await db
        .update(tuningSearches)
        .set({ phase: 'finishing', finishingAt: now, updatedAt: now })
        .where(
          and(
            eq(tuningSearches.jobId, searchId),
            or(
              eq(tuningSearches.phase, 'searching'),
              and(
                eq(tuningSearches.phase, 'finishing'),
                lt(tuningSearches.finishingAt, new Date(now.getTime() - staleMs)),
              ),
            ),
          ),
        )
        .returning({ id: tuningSearches.jobId });
      return res.length > 0;
    },

    async setPhase(
      searchId: string,
      phase: SearchRow['phase'],
      now: Date,
      bestTrialId?: string | null,
    ): Promise<void> {
      await db
        .update(tuningSearches)
        .set({ phase, updatedAt: now, ...(bestTrialId !== undefined ? { bestTrialId } : {}) })
        .where(eq(tuningSearches.jobId, searchId));
    },

    /**
     * Updates a search's parent job. The parent is never claimed nor leased (no worker runs it), so
     * the condition is that it is still running: a cancel that came first wins.
     */
    async updateParent(jobId: string, set: HeldUpdate, now: Date): Promise<JobRow | undefined> {
      const [r] = await db
        .update(trainingJobs)
        .set({ ...set, updatedAt: now })
        .where(
          and(eq(trainingJobs.id, jobId), eq(trainingJobs.state, 'running'), isNull(trainingJobs.leaseOwner)),
        )
        .returning();
      return r;
    },

    /** Removes a parent whose first trial could not be dispatched (its search and trials go with it). */
    async deleteParent(jobId: string): Promise<void> {
      await db.delete(trainingJobs).where(eq(trainingJobs.id, jobId));
    },

    async jobs(ids: string[]): Promise<JobRow[]> {
      if (ids.length === 0) return [];
      return db.select().from(trainingJobs).where(inArray(trainingJobs.id, ids));
    },
  };
}
export type TuningRepository = ReturnType<typeof createTuningRepository>;
