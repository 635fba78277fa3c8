import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp, type TestUser } from '../../../test/helpers/app.js';
import { dispatch, uploadCsv, waitForJob } from '../../../test/helpers/training.js';

/**
 * The whole path with the real parts: a CSV upload, the issue's spec dispatched as written, the
 * trainer child process fitting Forge's steps, a polar-tabular version registered with lineage, and
 * Core's tabular runtime serving it through /predict with the same appliers.
 */
let t: TestApp;
let dev: TestUser;
let dataset: { id: string; version: number };

const COLORS = ['red', 'green', 'blue'];

/** label = churn when a + b (a missing counts 0) exceeds a colour-dependent threshold. */
function churnCsv(n: number): string {
  let seed = 7;
  const rand = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const lines = ['a,b,color,label'];
  for (let i = 0; i < n; i++) {
    const a = Math.round((rand() * 10 - 5) * 100) / 100;
    const b = Math.round((rand() * 10 - 5) * 100) / 100;
    const color = COLORS[i % 3] as string;
    const threshold = color === 'red' ? -2 : color === 'green' ? 0 : 2;
    const label = (i % 17 === 0 ? 0 : a) + b > threshold ? 'churn' : 'stay';
    lines.push(`${i % 17 === 0 ? '' : a},${b},${color},${label}`);
  }
  return `${lines.join('\n')}\n`;
}

const issueSpec = () => ({
  name: 'churn-gbdt',
  dataset_id: dataset.id,
  dataset_version: 1,
  target: 'label',
  task: 'classification',
  steps: [
    { type: 'impute', config: { strategy: 'median' } },
    { type: 'one_hot', config: { columns: ['color'] } },
    { type: 'standard_scaler' },
    { type: 'gbdt_classifier', config: { n_estimators: 100, max_depth: 6, learning_rate: 0.1 } },
  ],
  evaluation: { test_size: 0.2, seed: 42 },
  register_as: 'churn',
});

beforeAll(async () => {
  t = await createTestApp({
    deps: {
      settingsOverrides: {
        'security/auth': { login_per_minute: 10_000 },
        'forge/workers': { count: 1 },
      },
    },
  });
  dev = await t.user('developer');
  dataset = await uploadCsv(t, dev.token, churnCsv(400), 'churn-data');
});
afterAll(async () => t?.close());

describe('train and predict', () => {
  it('the issue’s spec trains, registers a polar-tabular version with lineage, and serves predictions', async () => {
    const job = await dispatch(t, dev.token, issueSpec());
    expect(job.state).toBe('queued');
    const done = await waitForJob(t, dev.token, job.job_id, undefined, 60_000);
    expect(done, JSON.stringify(done.error)).toMatchObject({
      state: 'succeeded',
      attempts: 1,
      result: { model_name: 'churn', version: 1 },
    });
    expect(done.metrics.accuracy).toBeGreaterThan(0.8);

    const modelId = done.result.model_id as string;
    const v = await t.as(dev.token, { method: 'GET', url: `/api/v1/models/${modelId}/versions/1` });
    expect(v.statusCode, v.body).toBe(200);
    expect(v.json()).toMatchObject({
      format: 'polar-tabular',
      lineage: { job_id: job.job_id, dataset_version: `${dataset.id}@1` },
      metrics: { accuracy: done.metrics.accuracy },
    });

    const metrics = await t.as(dev.token, { method: 'GET', url: `/api/v1/training/${job.job_id}/metrics` });
    const series = metrics.json().series as { name: string; points: unknown[] }[];
    expect(series.length).toBeGreaterThan(0);
    expect(Math.max(...series.map((s) => s.points.length))).toBeGreaterThan(10);

    const rows = [
      { a: 4, b: 4, color: 'blue' },
      { a: -4, b: -4, color: 'red' },
      { a: null, b: 3, color: 'green' },
    ];
    const res = await t.as(dev.token, {
      method: 'POST',
      url: `/api/v1/models/${modelId}/predict`,
      payload: { rows },
    });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.predictions).toEqual(['churn', 'stay', 'churn']);
    expect(body.probabilities).toHaveLength(3);
    for (const p of body.probabilities as number[][]) {
      expect(p).toHaveLength(2);
      expect(p[0]! + p[1]!).toBeCloseTo(1, 6);
    }
  });

  it('a bad step config is a 400 at dispatch naming the field', async () => {
    const spec = issueSpec();
    (spec.steps[3] as { config: Record<string, unknown> }).config.max_depth = -1;
    const res = await t.as(dev.token, { method: 'POST', url: '/api/v1/training/dispatch', payload: spec });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().code).toBe('invalid_training_spec');
    expect(res.json().errors.map((e: { path: string }) => e.path)).toContain('body.steps.3.config.max_depth');
    const unknown = await t.as(dev.token, {
      method: 'POST',
      url: '/api/v1/training/dispatch',
      payload: { ...issueSpec(), steps: [{ type: 'telepathy' }] },
    });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().errors[0].path).toBe('body.steps.0.type');
  });

  it('a data error in the spec fails the job without retrying', async () => {
    const spec = { ...issueSpec(), register_as: 'churn-bad', steps: [{ type: 'logistic_regression' }] };
    const done = await waitForJob(
      t,
      dev.token,
      (await dispatch(t, dev.token, spec)).job_id,
      undefined,
      60_000,
    );
    // color is categorical and nothing encodes it: the model refuses it on the first attempt.
    expect(done).toMatchObject({ state: 'failed', attempts: 1, error: { transient: false } });
  });
});
