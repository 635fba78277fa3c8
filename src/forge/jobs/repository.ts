import { and, asc, desc, eq, gt, inArray, isNull, lt, lte, or, type SQL, sql } from 'drizzle-orm';
import type { Db } from '../../platform/db/client.js';
import { ACTIVE, CLAIMABLE } from './state.js';
import { type JobState, trainingJobLogs, trainingJobMetrics, trainingJobs } from './tables.js';

export type JobRow = typeof trainingJobs.$inferSelect;
export type NewJob = typeof trainingJobs.$inferInsert;
export type LogRow = typeof trainingJobLogs.$inferSelect;
export type MetricRow = typeof trainingJobMetrics.$inferSelect;
export type NewLog = Omit<typeof trainingJobLogs.$inferInsert, 'id'>;
export type NewMetric = Omit<typeof trainingJobMetrics.$inferInsert, 'id'>;

/** Columns a worker may change on a job it holds. */
export type HeldUpdate = Partial<
  Pick<
    NewJob,
    | 'state'
    | 'progress'
    | 'etaSeconds'
    | 'message'
    | 'error'
    | 'metrics'
    | 'result'
    | 'finishedAt'
    | 'nextAttemptAt'
    | 'leaseOwner'
    | 'leaseExpiresAt'
    | 'attempts'
  >
>;

const add = (at: Date, ms: number) => new Date(at.getTime() + ms);

/** PostgreSQL takes at most 65535 parameters per statement: a second's burst is written in parts. */
const ROWS_PER_INSERT = 1000;
function* chunks<T>(rows: T[]): Generator<T[]> {
  for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) yield rows.slice(i, i + ROWS_PER_INSERT);
}

export function createJobRepository(db: Db) {
  /** The job while `owner` holds its lease: the condition every worker update carries. */
  const held = (id: string, owner: string) =>
    and(eq(trainingJobs.id, id), eq(trainingJobs.state, 'running'), eq(trainingJobs.leaseOwner, owner));

  return {
    async insert(row: NewJob): Promise<JobRow> {
      const [r] = await db.insert(trainingJobs).values(row).returning();
      return r as JobRow;
    },

    async get(id: string): Promise<JobRow | undefined> {
      const [r] = await db.select().from(trainingJobs).where(eq(trainingJobs.id, id));
      return r;
    },

    async list(f: {
      owner?: string | undefined;
      state?: JobState | undefined;
      before?: { at: Date; id: string } | undefined;
      limit: number;
    }): Promise<JobRow[]> {
      const where: (SQL | undefined)[] = [];
      if (f.owner) where.push(eq(trainingJobs.ownerId, f.owner));
      if (f.state) where.push(eq(trainingJobs.state, f.state));
      if (f.before)
        where.push(
          or(
            lt(trainingJobs.createdAt, f.before.at),
            and(eq(trainingJobs.createdAt, f.before.at), lt(trainingJobs.id, f.before.id)),
          ),
        );
      return db
        .select()
        .from(trainingJobs)
        .where(and(...where))
        .orderBy(desc(trainingJobs.createdAt), desc(trainingJobs.id))
        .limit(f.limit + 1);
    },

    /**
     * Takes the next claimable job for `owner`: the highest priority, then the oldest, whose backoff
     * has passed. SKIP LOCKED lets concurrent claimers (other workers, other nodes) pass over a row
     * one of them is taking instead of waiting for it, so each job goes to exactly one. With `id`,
     * only that job is tried (a queue adapter that delivers job ids claims this way).
     */
    async claim(owner: string, now: Date, leaseMs: number, id?: string): Promise<JobRow | undefined> {
      const next = db
        .select({ id: trainingJobs.id })
        .from(trainingJobs)
        .where(
          and(
            inArray(trainingJobs.state, [...CLAIMABLE]),
            or(isNull(trainingJobs.nextAttemptAt), lte(trainingJobs.nextAttemptAt, now)),
            id === undefined ? undefined : eq(trainingJobs.id, id),
          ),
        )
        .orderBy(desc(trainingJobs.priority), asc(trainingJobs.createdAt), asc(trainingJobs.id))
        .limit(1)
        .for('update', { skipLocked: true });
      const [r] = await db
        .update(trainingJobs)
        .set({
          state: 'running',
          attempts: sql`${trainingJobs.attempts} + 1`,
          leaseOwner: owner,
          leaseExpiresAt: add(now, leaseMs),
          heartbeatAt: now,
          deadlineAt: sql`${now.toISOString()}::timestamptz + make_interval(secs => ${trainingJobs.timeoutSeconds})`,
          startedAt: sql`coalesce(${trainingJobs.startedAt}, ${now.toISOString()}::timestamptz)`,
          attemptStartedAt: now,
          nextAttemptAt: null,
          progress: 0,
          etaSeconds: null,
          error: null,
          message: 'Running',
          updatedAt: now,
        })
        .where(and(inArray(trainingJobs.id, next), inArray(trainingJobs.state, [...CLAIMABLE])))
        .returning();
      return r;
    },

    /** Renews the lease; undefined when `owner` no longer holds the job (cancelled or re-queued). */
    async heartbeat(
      id: string,
      owner: string,
      now: Date,
      leaseMs: number,
      set: HeldUpdate = {},
    ): Promise<JobRow | undefined> {
      const [r] = await db
        .update(trainingJobs)
        .set({ ...set, heartbeatAt: now, leaseExpiresAt: add(now, leaseMs), updatedAt: now })
        .where(held(id, owner))
        .returning();
      return r;
    },

    /** Updates a job only while `owner` holds it, so a cancel or a re-queue that came first wins. */
    async updateHeld(id: string, owner: string, now: Date, set: HeldUpdate): Promise<JobRow | undefined> {
      const [r] = await db
        .update(trainingJobs)
        .set({ ...set, updatedAt: now })
        .where(held(id, owner))
        .returning();
      return r;
    },

    /**
     * Puts a held job back in the queue and gives its attempt back (shutdown, stopped worker). With
     * `holdUntil`, no worker claims it before then unless `unhold` lets it go earlier.
     */
    async release(id: string, owner: string, now: Date, holdUntil?: Date): Promise<JobRow | undefined> {
      const [r] = await db
        .update(trainingJobs)
        .set({
          state: 'queued',
          nextAttemptAt: holdUntil ?? null,
          attempts: sql`greatest(${trainingJobs.attempts} - 1, 0)`,
          leaseOwner: null,
          leaseExpiresAt: null,
          deadlineAt: null,
          progress: 0,
          etaSeconds: null,
          message: 'Queued again: its worker stopped',
          updatedAt: now,
        })
        .where(held(id, owner))
        .returning();
      return r;
    },

    /** Lets a queued job that was held back be claimed now. */
    async unhold(id: string, now: Date): Promise<JobRow | undefined> {
      const [r] = await db
        .update(trainingJobs)
        .set({ nextAttemptAt: null, updatedAt: now })
        .where(and(eq(trainingJobs.id, id), eq(trainingJobs.state, 'queued')))
        .returning();
      return r;
    },

    /** Cancels a job that has not ended; undefined when it already had. */
    async cancel(id: string, now: Date): Promise<JobRow | undefined> {
      const [r] = await db
        .update(trainingJobs)
        .set({
          state: 'cancelled',
          message: 'Cancelled',
          leaseOwner: null,
          leaseExpiresAt: null,
          etaSeconds: null,
          nextAttemptAt: null,
          finishedAt: now,
          updatedAt: now,
        })
        .where(and(eq(trainingJobs.id, id), inArray(trainingJobs.state, [...ACTIVE])))
        .returning();
      return r;
    },

    /** Running jobs whose lease ran out before `now`: their worker is gone. */
    async expiredLeases(now: Date, limit = 100): Promise<JobRow[]> {
      return db
        .select()
        .from(trainingJobs)
        .where(and(eq(trainingJobs.state, 'running'), lt(trainingJobs.leaseExpiresAt, now)))
        .orderBy(asc(trainingJobs.leaseExpiresAt))
        .limit(limit);
    },

    /** Running jobs past their deadline. */
    async overdue(now: Date, limit = 100): Promise<JobRow[]> {
      return db
        .select()
        .from(trainingJobs)
        .where(and(eq(trainingJobs.state, 'running'), lt(trainingJobs.deadlineAt, now)))
        .orderBy(asc(trainingJobs.deadlineAt))
        .limit(limit);
    },

    /**
     * Ends or re-queues a job the sweeper found, only if nothing touched its lease since it was read:
     * the worker may have renewed it, or another node's sweeper may have been first.
     */
    async sweep(row: JobRow, now: Date, set: HeldUpdate): Promise<JobRow | undefined> {
      const [r] = await db
        .update(trainingJobs)
        .set({ leaseOwner: null, leaseExpiresAt: null, ...set, updatedAt: now })
        .where(
          and(
            eq(trainingJobs.id, row.id),
            eq(trainingJobs.state, 'running'),
            row.leaseOwner === null
              ? isNull(trainingJobs.leaseOwner)
              : eq(trainingJobs.leaseOwner, row.leaseOwner),
            row.leaseExpiresAt === null
              ? isNull(trainingJobs.leaseExpiresAt)
              : eq(trainingJobs.leaseExpiresAt, row.leaseExpiresAt),
          ),
        )
        .returning();
      return r;
    },

    /** The earliest time a retrying job becomes claimable, so a waiting pool knows when to look. */
    async nextRetryAt(): Promise<Date | null> {
      const [r] = await db
        .select({ at: trainingJobs.nextAttemptAt })
        .from(trainingJobs)
        .where(eq(trainingJobs.state, 'retrying'))
        .orderBy(asc(trainingJobs.nextAttemptAt))
        .limit(1);
      return r?.at ?? null;
    },

    async appendLogs(rows: NewLog[]): Promise<LogRow[]> {
      const out: LogRow[] = [];
      for (const part of chunks(rows))
        out.push(...(await db.insert(trainingJobLogs).values(part).returning()));
      return out;
    },

    /** Log lines after id `after`, oldest first. */
    async logs(jobId: string, after: number, limit: number): Promise<LogRow[]> {
      return db
        .select()
        .from(trainingJobLogs)
        .where(and(eq(trainingJobLogs.jobId, jobId), gt(trainingJobLogs.id, after)))
        .orderBy(asc(trainingJobLogs.id))
        .limit(limit + 1);
    },

    async appendMetrics(rows: NewMetric[]): Promise<void> {
      for (const part of chunks(rows)) await db.insert(trainingJobMetrics).values(part);
    },

    /** Metric points of one attempt (the latest when absent), by name then step. */
    async metrics(jobId: string, attempt: number, name?: string): Promise<MetricRow[]> {
      return db
        .select()
        .from(trainingJobMetrics)
        .where(
          and(
            eq(trainingJobMetrics.jobId, jobId),
            eq(trainingJobMetrics.attempt, attempt),
            name === undefined ? undefined : eq(trainingJobMetrics.name, name),
          ),
        )
        .orderBy(asc(trainingJobMetrics.name), asc(trainingJobMetrics.step), asc(trainingJobMetrics.id))
        .limit(100_000);
    },
  };
}
export type JobRepository = ReturnType<typeof createJobRepository>;
