import { z } from 'zod';
import type { FieldError } from '../../platform/errors.js';
import { createRng } from '../pipelines/random.js';

/**
 * A search space: step-config paths (`steps.3.config.learning_rate`) → the values to try. A path
 * names one field of one step's config; the step's own config schema judges each value (tuning
 * checks every trial's config before it dispatches anything).
 */
export const SPACE_PATH = /^steps\.(\d+)\.config\.([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)$/;

/** Longest search, in trials: every trial is a training job with its child process. */
export const MAX_TRIALS = 200;

const scalar = z.union([z.string().max(1000), z.number(), z.boolean(), z.null()]);

export const dimension = z.union([
  /** Exactly these values (a grid tries each; random search picks uniformly). */
  z.strictObject({ values: z.array(scalar).min(1).max(1000) }),
  /** Integers from the first bound to the second, both included; `log` samples log-uniformly. */
  z.strictObject({ int: z.tuple([z.number().int(), z.number().int()]), log: z.boolean().default(false) }),
  /** Reals in [low, high); `log` samples log-uniformly (low > 0). */
  z.strictObject({ float: z.tuple([z.number(), z.number()]), log: z.boolean().default(false) }),
]);
export type Dimension = z.infer<typeof dimension>;

export const searchSpace = z
  .record(z.string().max(300), dimension)
  .refine((s) => Object.keys(s).length >= 1, 'give at least one field to search')
  .refine((s) => Object.keys(s).length <= 20, 'at most 20 fields');
export type SearchSpace = z.infer<typeof searchSpace>;

export type Assignment = Record<string, unknown>;

/**
 * Problems of a space against a spec with `steps` steps, each at its path under `prefix`: a path
 * that is not a step-config field or names a step the spec lacks, empty or reversed ranges, log
 * ranges that reach zero.
 */
export function checkSpace(space: SearchSpace, steps: number, prefix: string): FieldError[] {
  const errors: FieldError[] = [];
  for (const [path, d] of Object.entries(space)) {
    const at = `${prefix}.${path}`;
    const m = SPACE_PATH.exec(path);
    if (!m) {
      errors.push({ path: at, message: 'not a step config field: write steps.<index>.config.<field>' });
      continue;
    }
    if (Number(m[1]) >= steps)
      errors.push({ path: at, message: `no step ${m[1]}: the spec has ${steps} step(s), numbered from 0` });
    if ('int' in d) {
      const [lo, hi] = d.int;
      if (lo > hi) errors.push({ path: at, message: `the range [${lo}, ${hi}] is empty` });
      else if (d.log && lo < 1)
        errors.push({ path: at, message: 'a log range of integers starts at 1 or more' });
    } else if ('float' in d) {
      const [lo, hi] = d.float;
      if (!(lo < hi)) errors.push({ path: at, message: `the range [${lo}, ${hi}) is empty` });
      else if (d.log && lo <= 0) errors.push({ path: at, message: 'a log range starts above 0' });
    }
  }
  return errors;
}

/** Every value of a dimension a grid tries, or null when it has infinitely many (a float range). */
function gridValues(d: Dimension): unknown[] | null {
  if ('values' in d) return d.values;
  if ('int' in d) return Array.from({ length: d.int[1] - d.int[0] + 1 }, (_, i) => d.int[0] + i);
  return null;
}

/** How many assignments the grid has (Infinity with a float range). */
export function gridSize(space: SearchSpace): number {
  let n = 1;
  for (const d of Object.values(space)) {
    if ('float' in d) return Number.POSITIVE_INFINITY;
    n *= 'int' in d ? Math.max(0, d.int[1] - d.int[0] + 1) : d.values.length;
  }
  return n;
}

/**
 * Every combination, the last field varying fastest (as nested loops in the order written). The
 * caller checks `gridSize` first: float ranges have no grid, and a big one would not fit in memory.
 */
export function expandGrid(space: SearchSpace): Assignment[] {
  let out: Assignment[] = [{}];
  for (const [path, d] of Object.entries(space)) {
    const values = gridValues(d);
    if (!values) throw new Error(`${path}: a float range has no grid`);
    out = out.flatMap((a) => values.map((v) => ({ ...a, [path]: v })));
  }
  return out;
}

/** One value of a dimension from a uniform u in [0, 1). */
export function sampleDimension(d: Dimension, u: number): unknown {
  if ('values' in d) return d.values[Math.min(d.values.length - 1, Math.floor(u * d.values.length))];
  if ('int' in d) {
    const [lo, hi] = d.int;
    if (!d.log) return Math.min(hi, lo + Math.floor(u * (hi - lo + 1)));
    // Log-uniform over [lo, hi + 1) then floored, so each integer's share shrinks as it grows.
    return Math.min(hi, Math.floor(Math.exp(Math.log(lo) + u * (Math.log(hi + 1) - Math.log(lo)))));
  }
  const [lo, hi] = d.float;
  if (!d.log) return lo + u * (hi - lo);
  return Math.min(hi, Math.exp(Math.log(lo) + u * (Math.log(hi) - Math.log(lo))));
}

/** `n` assignments drawn from the space with a seeded generator: the same seed gives the same trials. */
export function sampleSpace(space: SearchSpace, n: number, seed: number): Assignment[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => {
    const a: Assignment = {};
    for (const [path, d] of Object.entries(space)) a[path] = sampleDimension(d, rng.next());
    return a;
  });
}
