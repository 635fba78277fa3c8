import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createRuntimeRegistry } from '../../core/runtimes/registry.js';
import type { LoadSpec } from '../../core/runtimes/types.js';
import { type Frame, takeRows } from '../frame/frame.js';
import { formatOutput, runPipeline } from './fitted.js';
import { registerTabularRuntime } from './index.js';
import type { ClassificationMetrics } from './metrics.js';
import { runtime } from './runtime.js';
import { frameOf, normals, rowsOf, testContext } from './test-frames.js';
import { trainPipeline } from './train.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A version directory holding one pipeline.json, as the registry hands it to a runtime. */
function version(pipeline: unknown, task = 'classification'): LoadSpec {
  const dir = mkdtempSync(join(tmpdir(), 'polar-forge-tabular-'));
  dirs.push(dir);
  const body = JSON.stringify(pipeline);
  writeFileSync(join(dir, 'pipeline.json'), body);
  return {
    dir,
    files: [{ path: 'pipeline.json', size: body.length, format: 'json' }],
    format: 'polar-tabular',
    task,
    config: {},
  };
}

function dataset(n: number): Frame {
  const age = normals(n, 21);
  const income = normals(n, 22);
  const colors = ['red', 'green', 'blue'];
  const color = Array.from({ length: n }, (_, i) => (i % 13 === 0 ? null : (colors[(i * 7) % 3] as string)));
  const label = Array.from({ length: n }, (_, i) =>
    age[i]! + 1.5 * income[i]! - (color[i] === 'blue' ? 1 : 0) > 0 ? 'churn' : 'stay',
  );
  return frameOf({
    age: Array.from(age, (v, i) => (i % 9 === 0 ? null : 40 + 12 * v)),
    income: Array.from(income, (v) => 50_000 + 15_000 * v),
    color,
    label,
  });
}

// The spec shape of the example, with logistic regression as the model.
const SPEC = {
  target: 'label',
  task: 'classification',
  steps: [
    { type: 'impute', config: { strategy: 'median' } },
    { type: 'one_hot', config: { columns: ['color'] } },
    { type: 'standard_scaler' },
    { type: 'logistic_regression', config: { C: 1 } },
  ],
  evaluation: { test_size: 0.2, seed: 42 },
};

const signal = new AbortController().signal;

describe('Forge tabular runtime', () => {
  it('serves a trained pipeline from its pipeline.json exactly as training predicted', async () => {
    const frame = dataset(600);
    const r = await trainPipeline(frame, SPEC, testContext({ seed: 1 }));
    expect((r.metrics as ClassificationMetrics).accuracy).toBeGreaterThan(0.9);

    const model = await runtime.load(version(r.pipeline));
    expect(model.capabilities).toMatchObject({ predict: true, generate: false, embed: false });
    const features = { length: frame.length, columns: frame.columns.filter((c) => c.name !== 'label') };
    const sample = takeRows(
      features,
      Array.from({ length: 120 }, (_, i) => i * 5),
    );
    const rows = rowsOf(sample);
    // Rows as clients send them: gaps where values are missing, plus an unseen colour.
    expect(rows.some((row) => !('age' in row))).toBe(true);
    rows.push({ age: 30, income: 61_000, color: 'purple' }, { income: 48_000 });

    const served = await model.predict?.(rows, signal);
    const local = formatOutput(
      runPipeline(
        frameOf({
          age: rows.map((row) => (row.age as number | undefined) ?? null),
          income: rows.map((row) => row.income as number),
          color: rows.map((row) => (row.color as string | undefined) ?? null),
        }),
        r.fitted,
      ),
      r.fitted,
    );
    expect(served).toEqual(local);
    expect(served?.predictions).toHaveLength(122);
    expect(new Set(served?.predictions)).toEqual(new Set(['churn', 'stay']));
    const p0 = served?.probabilities?.[0] as Record<string, number>;
    expect(Object.keys(p0).sort()).toEqual(['churn', 'stay']);
    expect(p0.churn! + p0.stay!).toBeCloseTo(1, 12);
    await model.unload();
  });

  it('refuses rows with a missing required feature or a value of the wrong type, naming row and column', async () => {
    // Only age is imputed here, so income is required.
    const steps = [
      { type: 'impute', config: { strategy: 'median', columns: ['age'] } },
      ...SPEC.steps.slice(1),
    ];
    const r = await trainPipeline(dataset(200), { ...SPEC, steps }, testContext());
    expect(r.features.find((f) => f.name === 'income')?.required).toBe(true);
    const model = await runtime.load(version(r.pipeline));
    const ok = { age: 30, income: 50_000, color: 'red' };
    await expect(model.predict?.([ok, { age: 30, color: 'red' }], signal)).rejects.toMatchObject({
      code: 'invalid_input',
      status: 400,
      message: "row 1: 'income' is required",
    });
    await expect(model.predict?.([ok, ok, { ...ok, income: 'lots' }], signal)).rejects.toMatchObject({
      code: 'invalid_input',
      message: "row 2: 'income' must be a number, got a string",
    });
    await expect(model.predict?.([{ ...ok, color: ['red'] }], signal)).rejects.toMatchObject({
      code: 'invalid_input',
      message: "row 0: 'color' must be a string, got an array",
    });
    // A number where a category is expected is taken by its text form.
    await expect(model.predict?.([{ ...ok, color: 3 }], signal)).resolves.toMatchObject({
      predictions: [expect.any(String)],
    });
  });

  it('a missing value nothing fills is the caller’s error', async () => {
    const r = await trainPipeline(
      frameOf({ x: Array.from(normals(50, 1)), y: Array.from(normals(50, 2)) }),
      { target: 'y', task: 'regression', steps: [{ type: 'ridge' }] },
      testContext(),
    );
    expect(r.features).toEqual([{ name: 'x', type: 'numeric', required: true }]);
    // Mark it optional by hand: the model then meets NaN and says which row.
    const pipeline = { ...r.pipeline, features: [{ name: 'x', type: 'numeric', required: false }] };
    const model = await runtime.load(version(pipeline, 'regression'));
    await expect(model.predict?.([{ x: 1 }, {}], signal)).rejects.toMatchObject({
      code: 'invalid_input',
      status: 400,
      message: expect.stringContaining("'x' is missing in row 1"),
    });
    const out = await model.predict?.([{ x: 1 }], signal);
    expect(typeof out?.predictions[0]).toBe('number');
    expect(out?.probabilities).toBeUndefined();
  });

  it('serves clustering as cluster indices and booleans and dates by their own types', async () => {
    const n = 40;
    const frame = frameOf(
      {
        when: Array.from({ length: n }, (_, i) => Date.UTC(2024, 0, 1 + (i % 2 ? 300 : 0) + (i % 5))),
        flag: Array.from({ length: n }, (_, i) => i % 2 === 1),
      },
      { when: 'datetime' },
    );
    const r = await trainPipeline(
      frame,
      {
        task: 'clustering',
        steps: [{ type: 'min_max_scaler' }, { type: 'kmeans', config: { n_clusters: 2 } }],
      },
      testContext(),
    );
    const model = await runtime.load(version(r.pipeline, 'clustering'));
    const out = await model.predict?.(
      [
        { when: '2024-01-02T00:00:00Z', flag: false },
        { when: Date.UTC(2024, 9, 28), flag: true },
      ],
      signal,
    );
    expect(out?.predictions).toHaveLength(2);
    expect(out?.predictions[0]).not.toBe(out?.predictions[1]);
    await expect(model.predict?.([{ when: 'not a date', flag: true }], signal)).rejects.toMatchObject({
      code: 'invalid_input',
      message: expect.stringContaining("'when' must be a date"),
    });
    await expect(model.predict?.([{ when: 0, flag: 'yes' }], signal)).rejects.toMatchObject({
      code: 'invalid_input',
      message: "row 0: 'flag' must be true or false, got a string",
    });
  });

  it('refuses a pipeline.json it cannot run: unknown step, bad params, model not last, bad feature type', async () => {
    const r = await trainPipeline(dataset(100), SPEC, testContext());
    const p = r.pipeline;
    await expect(
      runtime.load(version({ ...p, steps: [{ type: 'gbdt_mystery', params: {} }] })),
    ).rejects.toMatchObject({
      code: 'unknown_step',
      status: 422,
    });
    const badParams = {
      ...p,
      steps: [...p.steps.slice(0, -1), { type: 'logistic_regression', params: { coef: 'x' } }],
    };
    await expect(runtime.load(version(badParams))).rejects.toMatchObject({
      code: 'invalid_artifact',
      message: expect.stringContaining('params are invalid'),
    });
    await expect(runtime.load(version({ ...p, steps: [...p.steps].reverse() }))).rejects.toMatchObject({
      code: 'invalid_artifact',
    });
    await expect(
      runtime.load(version({ ...p, features: [{ name: 'age', type: 'complex', required: true }] })),
    ).rejects.toMatchObject({ code: 'invalid_artifact' });
    await expect(runtime.load(version({ ...p, labels: undefined }))).rejects.toMatchObject({
      code: 'invalid_artifact',
    });
  });

  it('registers with Core for polar-tabular, replacing the built-in entry', () => {
    const registry = createRuntimeRegistry();
    registerTabularRuntime({ runtimes: registry });
    const entry = registry.forFormat('polar-tabular');
    expect(entry?.name).toBe('tabular');
    expect(entry?.module).toMatch(/\/forge\/pipelines\/runtime\.js$/);
  });
});
