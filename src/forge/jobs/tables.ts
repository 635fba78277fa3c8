import { sql } from 'drizzle-orm';
import {
  bigserial,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  real,
  text,
  timestamp,
} from 'drizzle-orm/pg-core';

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

/** See state.ts for the transitions between them. */
export const JOB_STATES = ['queued', 'running', 'retrying', 'succeeded', 'failed', 'cancelled'] as const;
export type JobState = (typeof JOB_STATES)[number];

export interface JobError {
  code: string;
  message: string;
  /** A transient failure (crash, lost worker) is retried; an invalid spec never is. */
  transient: boolean;
}

export interface JobResult {
  model_id: string;
  model_name: string;
  version: number;
}

/**
 * Training jobs. The row is the source of truth for a job's state: a worker owns a running job only
 * while it holds the lease (`lease_owner` until `lease_expires_at`, renewed by its heartbeat), and
 * every update a worker makes is conditioned on still holding it, so a cancel or a sweeper that
 * re-queued the job always wins over a late report.
 */
export const trainingJobs = pgTable(
  'training_jobs',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    ownerId: text('owner_id').notNull(),
    /** The validated spec as dispatched (spec.ts), defaults filled in. */
    spec: jsonb('spec').$type<Record<string, unknown>>().notNull(),
    state: text('state', { enum: JOB_STATES }).notNull().default('queued'),
    /** 0–100 within the current attempt. */
    progress: real('progress').notNull().default(0),
    etaSeconds: integer('eta_seconds'),
    message: text('message').notNull().default(''),
    /** Higher runs first; equal priorities run oldest first. */
    priority: integer('priority').notNull().default(0),
    /** Attempts started so far (a claim counts one; a release on shutdown gives it back). */
    attempts: integer('attempts').notNull().default(0),
    maxAttempts: integer('max_attempts').notNull(),
    /** A retrying job is not claimed before this. */
    nextAttemptAt: ts('next_attempt_at'),
    leaseOwner: text('lease_owner'),
    leaseExpiresAt: ts('lease_expires_at'),
    heartbeatAt: ts('heartbeat_at'),
    /** Longest one attempt may run; `deadline_at` is set from it when an attempt starts. */
    timeoutSeconds: integer('timeout_seconds').notNull(),
    deadlineAt: ts('deadline_at'),
    error: jsonb('error').$type<JobError>(),
    /** Final metrics of the last successful attempt (held-out evaluation). */
    metrics: jsonb('metrics').$type<Record<string, unknown>>().notNull().default({}),
    result: jsonb('result').$type<JobResult>(),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
    /** When the first attempt started, and when the current one did. */
    startedAt: ts('started_at'),
    attemptStartedAt: ts('attempt_started_at'),
    finishedAt: ts('finished_at'),
  },
  (t) => [
    // The claim scans only claimable rows, in claim order.
    index('training_jobs_claim_idx')
      .on(t.priority.desc(), t.createdAt, t.id)
      .where(sql`${t.state} in ('queued', 'retrying')`),
    index('training_jobs_running_idx').on(t.leaseExpiresAt).where(sql`${t.state} = 'running'`),
    index('training_jobs_owner_idx').on(t.ownerId, t.createdAt),
    index('training_jobs_created_idx').on(t.createdAt, t.id),
  ],
);

/** Log lines of a job, every attempt's, in the order written. */
export const trainingJobLogs = pgTable(
  'training_job_logs',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    jobId: text('job_id')
      .notNull()
      .references(() => trainingJobs.id, { onDelete: 'cascade' }),
    attempt: integer('attempt').notNull(),
    level: text('level', { enum: ['info', 'warn', 'error'] })
      .notNull()
      .default('info'),
    message: text('message').notNull(),
    at: ts('at').notNull().defaultNow(),
  },
  (t) => [index('training_job_logs_job_idx').on(t.jobId, t.id)],
);

/** Metric series a trainer reports while it fits (e.g. validation loss per boosting round). */
export const trainingJobMetrics = pgTable(
  'training_job_metrics',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    jobId: text('job_id')
      .notNull()
      .references(() => trainingJobs.id, { onDelete: 'cascade' }),
    attempt: integer('attempt').notNull(),
    name: text('name').notNull(),
    step: integer('step').notNull(),
    value: doublePrecision('value').notNull(),
    at: ts('at').notNull().defaultNow(),
  },
  (t) => [index('training_job_metrics_job_idx').on(t.jobId, t.name, t.step)],
);

export const WORKER_STATES = ['idle', 'busy', 'draining', 'stopped'] as const;
export type WorkerState = (typeof WORKER_STATES)[number];

/**
 * Training workers of every node, each refreshed by its heartbeat: the list a client sees, whichever
 * node answers. Rows whose heartbeat stopped long ago belong to dead processes and are pruned.
 */
export const trainingWorkers = pgTable('training_workers', {
  id: text('id').primaryKey(),
  host: text('host').notNull(),
  pid: integer('pid').notNull(),
  state: text('state', { enum: WORKER_STATES }).notNull(),
  currentJobId: text('current_job_id'),
  startedAt: ts('started_at').notNull().defaultNow(),
  heartbeatAt: ts('heartbeat_at').notNull().defaultNow(),
});
