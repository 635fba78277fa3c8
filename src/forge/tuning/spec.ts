import { z } from 'zod';
import { type TrainingSpec, targetModelName, trainingSpec } from '../jobs/spec.js';
import { type Assignment, MAX_TRIALS, SPACE_PATH, searchSpace } from './space.js';
import { SEARCH_STRATEGIES } from './tables.js';

/**
 * Metrics a lower value of which is better; any other is maximised unless the search says. The
 * names are those Forge's pipelines report (pipelines/metrics.ts) and common trainer metrics.
 */
const LOWER_IS_BETTER = /(^|_)(loss|error|rmse|mse|mae|inertia)($|_)/;
export const defaultDirection = (metric: string) => (LOWER_IS_BETTER.test(metric) ? 'minimize' : 'maximize');

export const searchSection = z
  .strictObject({
    strategy: z.enum(SEARCH_STRATEGIES),
    space: searchSpace,
    /** The final metric trials are ranked by, as the jobs report it (accuracy, f1_macro, rmse, r2…). */
    metric: z.string().min(1).max(200),
    /** Absent: minimize for losses and errors (log_loss, rmse, mae, inertia…), else maximize. */
    direction: z.enum(['maximize', 'minimize']).optional(),
    /** random: how many trials; successive_halving: how many configurations start. */
    n_trials: z.number().int().min(1).max(MAX_TRIALS).optional(),
    /** Seeds random sampling: the same seed draws the same trials. */
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .default(0),
    /** Trials running at once, at most. */
    max_concurrency: z.number().int().min(1).max(32).default(2),
    /** successive_halving: the config field that is the budget (n_estimators, max_iter, epochs…). */
    halving: z
      .strictObject({
        budget: z.string().regex(SPACE_PATH, 'a step config field: steps.<index>.config.<field>'),
        min_budget: z.number().int().min(1),
        max_budget: z.number().int().min(1).max(1_000_000),
        /** Each rung keeps 1/eta of the configurations and gives them eta times the budget. */
        eta: z.number().int().min(2).max(10).default(3),
      })
      .optional(),
  })
  .superRefine((s, ctx) => {
    if (s.strategy !== 'grid' && s.n_trials === undefined)
      ctx.addIssue({ code: 'custom', path: ['n_trials'], message: `${s.strategy} search needs n_trials` });
    if (s.strategy === 'grid' && s.n_trials !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['n_trials'],
        message: 'a grid tries every combination; leave n_trials out',
      });
    if (s.strategy === 'successive_halving' && !s.halving)
      ctx.addIssue({
        code: 'custom',
        path: ['halving'],
        message: 'successive halving needs a halving budget',
      });
    if (s.strategy !== 'successive_halving' && s.halving)
      ctx.addIssue({
        code: 'custom',
        path: ['halving'],
        message: 'halving goes with strategy successive_halving',
      });
    if (s.halving && s.halving.min_budget > s.halving.max_budget)
      ctx.addIssue({
        code: 'custom',
        path: ['halving', 'min_budget'],
        message: 'min_budget exceeds max_budget',
      });
    if (s.halving && s.halving.budget in s.space)
      ctx.addIssue({
        code: 'custom',
        path: ['halving', 'budget'],
        message: 'the budget field cannot also be searched',
      });
  });
export type SearchSection = z.infer<typeof searchSection>;

/** POST /training/tune: the spec every trial starts from, and how to search. */
export const tuneBody = z
  .strictObject({ spec: trainingSpec, search: searchSection })
  .meta({ id: 'TuneRequest' });
export type TuneBody = z.infer<typeof tuneBody>;

/** Sets `steps.<i>.config.<a>.<b>` in a copy of the steps. */
export function withAssignment(steps: TrainingSpec['steps'], a: Assignment): TrainingSpec['steps'] {
  const out = structuredClone(steps);
  for (const [path, value] of Object.entries(a)) {
    const m = SPACE_PATH.exec(path);
    const step = m ? out[Number(m[1])] : undefined;
    if (!m || !step) continue;
    const keys = (m[2] as string).split('.');
    let node = step.config as Record<string, unknown>;
    for (const k of keys.slice(0, -1)) {
      const next = node[k];
      node[k] = typeof next === 'object' && next !== null && !Array.isArray(next) ? { ...next } : {};
      node = node[k] as Record<string, unknown>;
    }
    node[keys[keys.length - 1] as string] = value;
  }
  return out;
}

/**
 * The spec of trial `number`: the base spec with the trial's values, registering nothing (the
 * search registers its best trial's pipeline into the base spec's model once it ends).
 */
export function trialSpec(base: TrainingSpec, a: Assignment, number: number): TrainingSpec {
  const suffix = ` trial ${number}`;
  return {
    ...base,
    name: `${base.name.slice(0, 100 - suffix.length).trimEnd()}${suffix}`,
    steps: withAssignment(base.steps, a),
    register_as: targetModelName(base),
    register: false,
  };
}
