import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tabularPipeline } from '../../core/runtimes/tabular/contract.js';
import type { Frame } from '../frame/frame.js';
import { runPipeline } from './fitted.js';
import { builtinSteps } from './registry.js';
import { fittedFromPipeline } from './runtime.js';
import { frameOf, testContext } from './test-frames.js';
import { trainPipeline } from './train.js';
import type { ModelOutput } from './types.js';

/**
 * Random small datasets (numbers with gaps, a category with gaps, a target) and random pipelines
 * built from the transform steps, so the properties hold for step combinations nobody wrote by hand.
 */
const CATEGORIES = ['a', 'b', 'c', 'd'];

const dataset = fc
  .record({
    n: fc.integer({ min: 12, max: 40 }),
    numeric: fc.integer({ min: 1, max: 3 }),
    seed: fc.integer({ min: 0, max: 1_000_000 }),
    gap: fc.integer({ min: 3, max: 9 }),
  })
  .chain(({ n, numeric, gap }) =>
    fc.record({
      nums: fc.array(
        fc.array(fc.double({ min: -1e3, max: 1e3, noNaN: true }), { minLength: n, maxLength: n }),
        {
          minLength: numeric,
          maxLength: numeric,
        },
      ),
      cats: fc.array(fc.constantFrom(...CATEGORIES), { minLength: n, maxLength: n }),
      gap: fc.constant(gap),
    }),
  )
  .map(({ nums, cats, gap }) => {
    const cols: Record<string, (number | null)[] | (string | null)[]> = {};
    nums.forEach((col, j) => {
      cols[`x${j}`] = col.map((v, i) => ((i + j) % gap === 0 ? null : v));
    });
    cols.cat = cats.map((v, i) => (i % (gap + 1) === 1 ? null : v));
    const first = nums[0] as number[];
    // At least two classes in every dataset: the upper half by rank of the first column is 'hi'.
    const rank = new Array<number>(first.length);
    first
      .map((v, i) => [v, i] as const)
      .sort((a, b) => a[0] - b[0] || a[1] - b[1])
      .forEach(([, i], r) => {
        rank[i] = r;
      });
    cols.label = first.map((_, i) => ((rank[i] as number) >= first.length / 2 ? 'hi' : i % 2 ? 'mid' : 'lo'));
    cols.amount = first.map((v, i) => v * 2 + i);
    return frameOf(cols);
  });

const pipelineSteps = fc.record({
  impute: fc.constantFrom('mean', 'median', 'most_frequent'),
  encoder: fc.constantFrom('one_hot', 'one_hot_first', 'one_hot_capped', 'ordinal_encoder'),
  scaler: fc.constantFrom('standard_scaler', 'min_max_scaler', 'robust_scaler', null),
  task: fc.constantFrom('classification', 'regression', 'clustering'),
  seed: fc.integer({ min: 0, max: 1000 }),
});

type Choice = typeof pipelineSteps extends fc.Arbitrary<infer T> ? T : never;

function specOf(c: Choice) {
  const steps: { type: string; config?: object }[] = [
    // An ordinal code keeps a missing category missing, so that pipeline fills categories first.
    { type: 'impute', config: { strategy: c.encoder === 'ordinal_encoder' ? 'most_frequent' : c.impute } },
  ];
  if (c.encoder === 'ordinal_encoder') steps.push({ type: 'ordinal_encoder' });
  else
    steps.push({
      type: 'one_hot',
      config:
        c.encoder === 'one_hot_first'
          ? { drop_first: true }
          : c.encoder === 'one_hot_capped'
            ? { max_categories: 2 }
            : {},
    });
  if (c.scaler) steps.push({ type: c.scaler });
  if (c.task === 'classification') steps.push({ type: 'logistic_regression', config: { max_iter: 50 } });
  else if (c.task === 'regression') steps.push({ type: 'ridge', config: { alpha: 0.5 } });
  else steps.push({ type: 'kmeans', config: { n_clusters: 2, n_init: 2, max_iter: 20 } });
  return {
    task: c.task,
    target: c.task === 'classification' ? 'label' : c.task === 'regression' ? 'amount' : undefined,
    features: ['x0', 'x1', 'x2', 'cat'],
    steps,
    evaluation: { test_size: 0.25, seed: c.seed },
  };
}

/** The feature columns that exist in this frame (datasets have one to three numeric columns). */
function specFor(frame: Frame, c: Choice) {
  const spec = specOf(c);
  return { ...spec, features: spec.features.filter((f) => frame.columns.some((col) => col.name === f)) };
}

const plain = (o: ModelOutput) => ({
  values: Array.from(o.values),
  probabilities: o.probabilities?.map((p) => Array.from(p)),
  distances: o.distances ? Array.from(o.distances) : undefined,
});

describe('trained pipelines (properties)', () => {
  it('apply after fit is deterministic, and JSON round-tripped params give identical output', async () => {
    await fc.assert(
      fc.asyncProperty(dataset, pipelineSteps, async (frame, choice) => {
        const r = await trainPipeline(frame, specFor(frame, choice), testContext({ seed: choice.seed }));
        const first = plain(runPipeline(frame, r.fitted));
        expect(plain(runPipeline(frame, r.fitted))).toEqual(first);
        const reread = tabularPipeline.parse(JSON.parse(JSON.stringify(r.pipeline)));
        const served = fittedFromPipeline(reread, builtinSteps);
        expect(plain(runPipeline(frame, served))).toEqual(first);
      }),
      { numRuns: 100 },
    );
  });

  it('the same seed gives the same pipeline', async () => {
    await fc.assert(
      fc.asyncProperty(dataset, pipelineSteps, async (frame, choice) => {
        const spec = specFor(frame, choice);
        const a = await trainPipeline(frame, spec, testContext({ seed: choice.seed }));
        const b = await trainPipeline(frame, spec, testContext({ seed: choice.seed }));
        expect(JSON.stringify(b.pipeline)).toBe(JSON.stringify(a.pipeline));
        expect(b.metrics).toEqual(a.metrics);
      }),
      { numRuns: 40 },
    );
  });
});
