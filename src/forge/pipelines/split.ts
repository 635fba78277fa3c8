import { z } from 'zod';
import { StepError } from './errors.js';
import { createRng, shuffle } from './random.js';

/**
 * How a pipeline holds out rows to measure itself: the spec's `evaluation`, or equally a step of
 * type `train_test_split` (which is not part of the served pipeline).
 */
export const SPLIT_STEP = 'train_test_split';

export const splitConfig = z.strictObject({
  test_size: z
    .number()
    .min(0)
    .max(0.9)
    .default(0.2)
    .describe('Share of rows held out for the metrics; 0 trains on every row and measures on them'),
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 31 - 1)
    .optional()
    .describe('Seed of the shuffle; default: the training seed'),
  stratify: z.boolean().default(true).describe('Keep class proportions in both parts (classification only)'),
});
export type SplitConfig = z.infer<typeof splitConfig>;

export interface Split {
  /** Row indices, ascending. */
  train: Uint32Array;
  test: Uint32Array;
  /** Whether class proportions were kept (false when asked but a class has a single row). */
  stratified: boolean;
}

/**
 * A seeded shuffle split. The test part has ceil(test_size·n) rows, as scikit-learn's. Stratified,
 * each class gives its share of the test rows, rounded by largest remainder so the total holds.
 */
export function trainTestSplit(
  n: number,
  opts: { test_size: number; seed: number; classes?: Float64Array | undefined },
): Split {
  const nTest = Math.ceil(opts.test_size * n);
  if (n - nTest < 1 || (opts.test_size > 0 && nTest < 1))
    throw new StepError(
      'not_enough_rows',
      `${n} rows cannot be split with test_size ${opts.test_size}: both parts need a row`,
    );
  const r = createRng(opts.seed);
  const groups = opts.classes ? groupBy(opts.classes) : [];
  const stratified = groups.length > 0 && groups.every((g) => g.length >= 2);
  const test: number[] = [];
  const train: number[] = [];
  if (!stratified) {
    const order = shuffle(
      Uint32Array.from({ length: n }, (_, i) => i),
      r,
    );
    for (let i = 0; i < n; i++) (i < nTest ? test : train).push(order[i] as number);
  } else {
    const quota = allocate(
      groups.map((g) => g.length),
      nTest,
    );
    groups.forEach((g, c) => {
      const order = shuffle(Uint32Array.from(g), r);
      for (let i = 0; i < order.length; i++)
        (i < (quota[c] as number) ? test : train).push(order[i] as number);
    });
  }
  const asc = (a: number, b: number) => a - b;
  return { train: Uint32Array.from(train.sort(asc)), test: Uint32Array.from(test.sort(asc)), stratified };
}

/** Row indices per class, classes in index order, empty classes left out. */
function groupBy(classes: Float64Array): number[][] {
  const groups = new Map<number, number[]>();
  classes.forEach((c, i) => {
    const g = groups.get(c);
    if (g) g.push(i);
    else groups.set(c, [i]);
  });
  return [...groups.entries()].sort((a, b) => a[0] - b[0]).map(([, g]) => g);
}

/** `total` split in proportion to `sizes`: floors first, then the largest remainders get one more. */
function allocate(sizes: number[], total: number): number[] {
  const sum = sizes.reduce((a, b) => a + b, 0);
  const ideal = sizes.map((s) => (total * s) / sum);
  const quota = ideal.map(Math.floor);
  let left = total - quota.reduce((a, b) => a + b, 0);
  const order = ideal
    .map((v, i) => ({ i, rem: v - Math.floor(v) }))
    .sort((a, b) => b.rem - a.rem || (sizes[b.i] as number) - (sizes[a.i] as number) || a.i - b.i);
  for (const { i } of order) {
    if (left === 0) break;
    // A class keeps at least one training row.
    if ((quota[i] as number) + 1 < (sizes[i] as number)) {
      quota[i] = (quota[i] as number) + 1;
      left--;
    }
  }
  return quota;
}
