import { z } from 'zod';
import { trainingJob } from '../jobs/schema.js';
import { SEARCH_PHASES, SEARCH_STRATEGIES, TRIAL_STATES } from './tables.js';

export const searchParams = z.object({ job_id: z.string().min(1).max(100) });

const trial = z.object({
  number: z.number(),
  rung: z.number(),
  /** Search-space path → value tried (the budget field included under successive halving). */
  params: z.record(z.string(), z.unknown()),
  state: z.enum(TRIAL_STATES),
  job_id: z.string().nullable(),
  /** The trial's run in its experiment, once its job exists. */
  run_id: z.string().nullable(),
  /** The objective metric the trial's job reported. */
  metric: z.number().nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
});

export const searchView = z
  .object({
    /** The parent job: state, progress, best metrics so far and, once done, the registered version. */
    job: trainingJob,
    strategy: z.enum(SEARCH_STRATEGIES),
    metric: z.string(),
    direction: z.enum(['maximize', 'minimize']),
    max_concurrency: z.number(),
    space: z.record(z.string(), z.unknown()),
    halving: z
      .object({ budget: z.string(), min_budget: z.number(), max_budget: z.number(), eta: z.number() })
      .nullable(),
    /** Successive halving's rungs (configurations and budget each); one rung otherwise. */
    rungs: z.array(z.object({ configs: z.number(), budget: z.number().nullable() })),
    phase: z.enum(SEARCH_PHASES),
    trials: z.array(trial),
    best_trial: trial.nullable(),
  })
  .meta({ id: 'HyperparameterSearch' });
export type SearchView = z.infer<typeof searchView>;
export type TrialView = z.infer<typeof trial>;
