import { describe, expect, it } from 'vitest';
import { tabularPipeline } from '../../core/runtimes/tabular/contract.js';
import { PipelineError } from './errors.js';
import type { ClassificationMetrics, RegressionMetrics } from './metrics.js';
import { frameOf, normals, testContext } from './test-frames.js';
import { type ClusteringMetrics, trainPipeline } from './train.js';

/** Two informative numbers, a noise column with gaps and a colour that shifts the odds. */
function classificationSet(n: number, seed: number) {
  const x1 = normals(n, seed);
  const x2 = normals(n, seed + 1);
  const noise = normals(n, seed + 2);
  const colors = ['red', 'green', 'blue'];
  const color = Array.from({ length: n }, (_, i) => (i % 11 === 0 ? null : (colors[i % 3] as string)));
  const label = Array.from({ length: n }, (_, i) =>
    2 * x1[i]! - x2[i]! + (color[i] === 'red' ? 1.5 : 0) > 0.5 ? 'yes' : 'no',
  );
  return frameOf({
    x1: Array.from(x1),
    x2: Array.from(x2),
    noise: Array.from(noise, (v, i) => (i % 7 === 0 ? null : v)),
    color,
    label,
  });
}

const STEPS = [
  { type: 'impute', config: { strategy: 'median' } },
  { type: 'one_hot', config: { columns: ['color'] } },
  { type: 'standard_scaler' },
  { type: 'logistic_regression', config: { C: 10 } },
];

async function failure(p: Promise<unknown>): Promise<PipelineError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof PipelineError) return e;
    throw e;
  }
  throw new Error('training succeeded');
}

describe('trainPipeline', () => {
  it('classification: fits transforms in order on the training rows and measures the held-out rows', async () => {
    const frame = classificationSet(1000, 1);
    const ctx = testContext({ seed: 4 });
    const r = await trainPipeline(
      frame,
      { target: 'label', task: 'classification', steps: STEPS, evaluation: { test_size: 0.25, seed: 42 } },
      ctx,
    );
    const m = r.metrics as ClassificationMetrics;
    expect(m.accuracy).toBeGreaterThan(0.95);
    expect(m.roc_auc).toBeGreaterThan(0.98);
    expect(m.log_loss).toBeLessThan(0.2);
    expect(Object.keys(m).sort()).toEqual(
      [
        'accuracy',
        'confusion_matrix',
        'f1_macro',
        'log_loss',
        'precision_macro',
        'recall_macro',
        'roc_auc',
      ].sort(),
    );
    expect(m.confusion_matrix.flat().reduce((a, b) => a + b, 0)).toBe(250);
    expect(r.evaluation).toEqual({
      train_rows: 750,
      test_rows: 250,
      evaluated_on: 'test',
      stratified: true,
      dropped_rows: 0,
    });
    expect(r.model_features).toEqual(['x1', 'x2', 'noise', 'color_blue', 'color_green', 'color_red']);

    // The document Core serves: valid polar-tabular, params plain JSON, no split step in it.
    const p = tabularPipeline.parse(JSON.parse(JSON.stringify(r.pipeline)));
    expect(p).toMatchObject({
      format: 'polar-tabular',
      format_version: 1,
      task: 'classification',
      target: 'label',
    });
    expect(p.labels).toEqual(['no', 'yes']);
    expect(p.steps.map((s) => s.type)).toEqual([
      'impute',
      'one_hot',
      'standard_scaler',
      'logistic_regression',
    ]);
    expect(
      (p.steps[0]?.params as { fills: { column: string }[] } | undefined)?.fills.map((f) => f.column),
    ).toEqual(['x1', 'x2', 'noise']);
    // The imputer fills every number and one_hot encodes a missing colour as zeros: none is required.
    expect(r.features).toEqual([
      { name: 'x1', type: 'numeric', required: false },
      { name: 'x2', type: 'numeric', required: false },
      { name: 'noise', type: 'numeric', required: false },
      { name: 'color', type: 'categorical', required: false },
    ]);
    const named = await trainPipeline(
      frame,
      {
        target: 'label',
        task: 'classification',
        steps: [{ type: 'impute', config: { columns: ['noise'] } }, ...STEPS.slice(1)],
      },
      testContext(),
    );
    expect(named.features.map((f) => f.required)).toEqual([true, true, false, false]);
    expect(p.features).toEqual(r.features);
  });

  it('reports progress from 0 to 1 without going back, the model’s own steps included', async () => {
    const ctx = testContext();
    await trainPipeline(
      classificationSet(300, 2),
      { target: 'label', task: 'classification', steps: STEPS },
      ctx,
    );
    const p = ctx.progressed;
    expect(p.at(-1)).toBe(1);
    for (let i = 1; i < p.length; i++) expect(p[i]).toBeGreaterThan(p[i - 1]!);
    // Three transforms then the model: the model's iterations land strictly inside its share.
    const share = (3 + 8) / 12;
    expect(p.some((v) => v > 3 / 12 + 0.01 && v < share - 0.01)).toBe(true);
    expect(ctx.metrics.some((x) => x.name === 'train_loss')).toBe(true);
  });

  it('regression: linear regression recovers known coefficients', async () => {
    const n = 500;
    const a = normals(n, 7);
    const b = normals(n, 8);
    const y = Array.from({ length: n }, (_, i) => 4 - 3 * a[i]! + 0.5 * b[i]!);
    const r = await trainPipeline(
      frameOf({ a: Array.from(a), b: Array.from(b), y }),
      { target: 'y', task: 'regression', steps: [{ type: 'linear_regression' }] },
      testContext(),
    );
    const params = r.pipeline.steps[0]?.params as { coef: number[]; intercept: number };
    expect(params.coef[0]).toBeCloseTo(-3, 8);
    expect(params.coef[1]).toBeCloseTo(0.5, 8);
    expect(params.intercept).toBeCloseTo(4, 8);
    const m = r.metrics as RegressionMetrics;
    expect(m.r2).toBeCloseTo(1, 10);
    expect(m.rmse).toBeLessThan(1e-8);
    expect(m.mae).toBeLessThan(1e-8);
    expect(r.pipeline.labels).toBeUndefined();
  });

  it('clustering: k-means with inertia on the held-out rows; a named target stays out of the features', async () => {
    const n = 300;
    const nx = normals(n, 3);
    const x = Array.from(nx, (v, i) => v + (i % 2 ? 20 : 0));
    const r = await trainPipeline(
      frameOf({ x, id: Array.from({ length: n }, (_, i) => i) }),
      { target: 'id', task: 'clustering', steps: [{ type: 'kmeans', config: { n_clusters: 2 } }] },
      testContext(),
    );
    const m = r.metrics as ClusteringMetrics;
    expect(m.inertia).toBeGreaterThan(0);
    // About 1 per row for unit-variance blobs, 60 test rows.
    expect((m.inertia as number) / 60).toBeLessThan(2);
    expect(r.features.map((f) => f.name)).toEqual(['x']);
    expect(r.pipeline.task).toBe('clustering');
  });

  it('keeps the target’s own label values: numbers and booleans', async () => {
    const x = Array.from(normals(60, 5));
    const numeric = await trainPipeline(
      frameOf({ x, y: x.map((v) => (v > 0.5 ? 2 : v > -0.5 ? 1 : 0)) }),
      { target: 'y', task: 'classification', steps: [{ type: 'logistic_regression' }] },
      testContext(),
    );
    expect(numeric.pipeline.labels).toEqual([0, 1, 2]);
    const bool = await trainPipeline(
      frameOf({ x, y: x.map((v) => v > 0) }),
      { target: 'y', task: 'classification', steps: [{ type: 'logistic_regression' }] },
      testContext(),
    );
    expect(bool.pipeline.labels).toEqual([false, true]);
  });

  it('the features option limits the inputs; test_size 0 measures on the training rows', async () => {
    const r = await trainPipeline(
      classificationSet(200, 3),
      {
        target: 'label',
        task: 'classification',
        features: ['x1', 'x2'],
        steps: [{ type: 'logistic_regression' }],
        evaluation: { test_size: 0 },
      },
      testContext(),
    );
    expect(r.features.map((f) => f.name)).toEqual(['x1', 'x2']);
    expect(r.evaluation).toMatchObject({ train_rows: 200, test_rows: 0, evaluated_on: 'train' });
  });

  it('leaves out rows whose target is missing, and says so', async () => {
    const ctx = testContext();
    const r = await trainPipeline(
      frameOf({ x: [1, 2, 3, 4, 5, 6, 7], y: [1, 2, null, 4, 5, 6, 7] }),
      { target: 'y', task: 'regression', steps: [{ type: 'ridge' }], evaluation: { test_size: 0 } },
      ctx,
    );
    expect(r.evaluation.dropped_rows).toBe(1);
    expect(ctx.logs.join()).toMatch(/left out 1 rows/);
  });

  it('data errors name the step, the column and the fix, and are permanent', async () => {
    const frame = classificationSet(100, 4);
    const cat = await failure(
      trainPipeline(
        frame,
        {
          target: 'label',
          task: 'classification',
          steps: [{ type: 'impute' }, { type: 'logistic_regression' }],
        },
        testContext(),
      ),
    );
    expect(cat).toMatchObject({ code: 'non_numeric_feature', status: 422, retryable: false });
    expect(cat.message).toMatch(
      /^steps\[1\] \(logistic_regression\): feature 'color' is categorical.*one_hot/,
    );
    expect(cat.errors).toEqual([{ path: 'steps[1]', message: expect.any(String) }]);
    const nan = await failure(
      trainPipeline(
        frame,
        {
          target: 'label',
          task: 'classification',
          steps: [{ type: 'one_hot' }, { type: 'logistic_regression' }],
        },
        testContext(),
      ),
    );
    expect(nan).toMatchObject({ code: 'missing_values' });
    expect(nan.message).toMatch(/feature 'noise' has \d+ missing values; add an impute step/);
    const unknown = await failure(
      trainPipeline(
        frame,
        {
          target: 'label',
          task: 'classification',
          steps: [{ type: 'drop_columns', config: { columns: ['nope'] } }, { type: 'logistic_regression' }],
        },
        testContext(),
      ),
    );
    expect(unknown).toMatchObject({
      code: 'unknown_column',
      message: expect.stringMatching(/^steps\[0\] \(drop_columns\)/),
    });
  });

  it('features too large to compute with are a data error that names the fix', async () => {
    const huge = frameOf({ x: [1e200, -1e200, 3e200, 2e200], y: [1, 2, 3, 4] });
    const e = await failure(
      trainPipeline(
        huge,
        {
          target: 'y',
          task: 'regression',
          steps: [{ type: 'linear_regression' }],
          evaluation: { test_size: 0 },
        },
        testContext(),
      ),
    );
    expect(e).toMatchObject({
      code: 'numeric_overflow',
      retryable: false,
      message: expect.stringMatching(/^steps\[0\].*standard_scaler/),
    });
    const clustered = await failure(
      trainPipeline(
        huge,
        {
          task: 'clustering',
          steps: [{ type: 'kmeans', config: { n_clusters: 2 } }],
          evaluation: { test_size: 0 },
        },
        testContext(),
      ),
    );
    expect(clustered).toMatchObject({ code: 'numeric_overflow' });
    // Scaled first, the same data trains.
    await trainPipeline(
      huge,
      {
        target: 'y',
        task: 'regression',
        steps: [{ type: 'standard_scaler' }, { type: 'linear_regression' }],
        evaluation: { test_size: 0 },
      },
      testContext(),
    );
  });

  it('refuses a bad target: absent, single class, or categorical for regression', async () => {
    const frame = classificationSet(50, 5);
    const spec = (target: string, task: string) => ({
      target,
      task,
      steps: [{ type: task === 'regression' ? 'ridge' : 'logistic_regression' }],
    });
    expect(await failure(trainPipeline(frame, spec('nope', 'classification'), testContext()))).toMatchObject({
      code: 'unknown_column',
    });
    const single = frameOf({ x: [1, 2, 3, 4], y: ['a', 'a', 'a', 'a'] });
    expect(await failure(trainPipeline(single, spec('y', 'classification'), testContext()))).toMatchObject({
      code: 'invalid_target',
    });
    expect(await failure(trainPipeline(frame, spec('color', 'regression'), testContext()))).toMatchObject({
      code: 'invalid_target',
      message: expect.stringMatching(/use task classification/),
    });
  });

  it('stops when cancelled', async () => {
    const ac = new AbortController();
    ac.abort(new Error('job cancelled'));
    await expect(
      trainPipeline(
        classificationSet(50, 6),
        { target: 'label', task: 'classification', steps: STEPS },
        testContext({ signal: ac.signal }),
      ),
    ).rejects.toThrow('job cancelled');
  });
});
