import { sql } from 'drizzle-orm';
import { index, jsonb, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { users } from '../../hub/tables.js';
import { JOB_STATES, trainingJobs } from '../jobs/tables.js';

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

/** Free key → value labels, as MLflow's tags: `team: fraud`, `polar.trial: 3`. */
export type Tags = Record<string, string>;

/**
 * Experiments: named groups of runs, private to their owner (admins see all). Names are unique per
 * owner, case-insensitively, not across the node: an experiment is nobody else's business, so a
 * global name would leak other users' names through conflicts and make every user's `default`
 * impossible.
 */
export const experiments = pgTable(
  'experiments',
  {
    id: text('id').primaryKey(),
    ownerId: text('owner_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    description: text('description').notNull().default(''),
    tags: jsonb('tags').$type<Tags>().notNull().default({}),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('experiments_owner_name_idx').on(t.ownerId, sql`lower(${t.name})`),
    index('experiments_created_idx').on(t.createdAt, t.id),
  ],
);

/**
 * One run per training job: the job's flattened spec as params, its final numeric metrics, tags and
 * artifacts (the model version it registered). The job stays the source of truth for state and
 * metric series; the run mirrors what a comparison needs so filters and ordering run in SQL.
 */
export const experimentRuns = pgTable(
  'experiment_runs',
  {
    id: text('id').primaryKey(),
    experimentId: text('experiment_id')
      .notNull()
      .references(() => experiments.id, { onDelete: 'cascade' }),
    /** The experiment's owner, kept here so lists across experiments filter without a join. */
    ownerId: text('owner_id').notNull(),
    jobId: text('job_id')
      .notNull()
      .references(() => trainingJobs.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    /** Flattened spec: `steps.3.config.learning_rate` → 0.1; lists stay whole values. */
    params: jsonb('params').$type<Record<string, unknown>>().notNull().default({}),
    /** Final numeric metrics of the job (held-out evaluation); non-numbers are left out. */
    metrics: jsonb('metrics').$type<Record<string, number>>().notNull().default({}),
    tags: jsonb('tags').$type<Tags>().notNull().default({}),
    /** What the run produced: the registered model version, when there is one. */
    artifacts: jsonb('artifacts').$type<Record<string, unknown>>().notNull().default({}),
    status: text('status', { enum: JOB_STATES }).notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
    startedAt: ts('started_at'),
    finishedAt: ts('finished_at'),
  },
  (t) => [
    uniqueIndex('experiment_runs_job_idx').on(t.jobId),
    index('experiment_runs_experiment_idx').on(t.experimentId, t.createdAt, t.id),
    index('experiment_runs_owner_idx').on(t.ownerId, t.createdAt, t.id),
  ],
);
