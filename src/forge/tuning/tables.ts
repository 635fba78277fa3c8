import {
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import { trainingJobs } from '../jobs/tables.js';

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const SEARCH_STRATEGIES = ['grid', 'random', 'successive_halving'] as const;
export type SearchStrategy = (typeof SEARCH_STRATEGIES)[number];

/**
 * `searching` while trials run; `finishing` while one node registers the best trial (taken with a
 * conditional update, so two nodes never register twice); `done` once the parent job has ended.
 */
export const SEARCH_PHASES = ['searching', 'finishing', 'done'] as const;
export type SearchPhase = (typeof SEARCH_PHASES)[number];

export const TRIAL_STATES = ['pending', 'dispatching', 'active', 'succeeded', 'failed', 'cancelled'] as const;
export type TrialState = (typeof TRIAL_STATES)[number];

/** One rung of successive halving: how many configurations run, each with what budget. */
export interface Rung {
  configs: number;
  /** Null for grid and random search, which have one rung and no budget field. */
  budget: number | null;
}

/**
 * Hyperparameter searches. Each is the `tuning` side of a parent training job (same id): the job
 * row carries state, progress, metrics and result as every job does; this row holds what the search
 * needs to go on after a restart, on any node.
 */
export const tuningSearches = pgTable('tuning_searches', {
  jobId: text('job_id')
    .primaryKey()
    .references(() => trainingJobs.id, { onDelete: 'cascade' }),
  ownerId: text('owner_id').notNull(),
  strategy: text('strategy', { enum: SEARCH_STRATEGIES }).notNull(),
  /** The search section as validated (space, objective, concurrency, halving budget). */
  search: jsonb('search').$type<Record<string, unknown>>().notNull(),
  /** Successive halving's schedule; one rung for grid and random search. */
  rungs: jsonb('rungs').$type<Rung[]>().notNull(),
  /** The rung whose trials run now. */
  rung: integer('rung').notNull().default(0),
  phase: text('phase', { enum: SEARCH_PHASES }).notNull().default('searching'),
  /** When a node took the finishing step; a node that died in it is relieved after a while. */
  finishingAt: ts('finishing_at'),
  bestTrialId: text('best_trial_id'),
  createdAt: ts('created_at').notNull().defaultNow(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});

/**
 * Trials: one configuration at one budget. A trial becomes a child training job when a concurrency
 * slot frees (`dispatching` marks the short moment between taking the slot and the job existing).
 */
export const tuningTrials = pgTable(
  'tuning_trials',
  {
    id: text('id').primaryKey(),
    searchId: text('search_id')
      .notNull()
      .references(() => tuningSearches.jobId, { onDelete: 'cascade' }),
    /** 1-based, in dispatch order across rungs. */
    number: integer('number').notNull(),
    /** Which sampled configuration this is; successive halving runs one on several rungs. */
    configIndex: integer('config_index').notNull(),
    rung: integer('rung').notNull().default(0),
    /** Search-space path → value, the budget field included. */
    params: jsonb('params').$type<Record<string, unknown>>().notNull(),
    state: text('state', { enum: TRIAL_STATES }).notNull().default('pending'),
    jobId: text('job_id').references(() => trainingJobs.id, { onDelete: 'set null' }),
    /** The objective metric the trial's job reported. */
    metric: doublePrecision('metric'),
    error: jsonb('error').$type<{ code: string; message: string }>(),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('tuning_trials_number_idx').on(t.searchId, t.number),
    uniqueIndex('tuning_trials_job_idx').on(t.jobId),
    index('tuning_trials_state_idx').on(t.searchId, t.state),
  ],
);
