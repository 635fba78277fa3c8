import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp, type TestUser } from '../../../test/helpers/app.js';
import { uploadCsv, waitFor } from '../../../test/helpers/training.js';
import { createRng } from '../pipelines/random.js';

/**
 * End to end through the real job system: the tabular trainer in child processes fits a scaler and
 * a logistic regression per trial on a generated dataset, and the search registers its best trial.
 */
let t: TestApp;
let dev: TestUser;
let dataset: { id: string; version: number };

/** Two features, the class a noisy linear function of them (seeded, so every run sees the same rows). */
function generatedCsv(rows: number): string {
  const r = createRng(17);
  const lines = ['x1,x2,label'];
  for (let i = 0; i < rows; i++) {
    const x1 = r.next() * 10 - 5;
    const x2 = r.next() * 4;
    const noise = (r.next() - 0.5) * 3;
    lines.push(`${x1.toFixed(3)},${x2.toFixed(3)},${x1 + 0.8 * x2 - 1 + noise > 0 ? 'yes' : 'no'}`);
  }
  return `${lines.join('\n')}\n`;
}

beforeAll(async () => {
  t = await createTestApp({
    deps: {
      settingsOverrides: {
        'security/auth': { login_per_minute: 10_000 },
        'forge/workers': { count: 2 },
      },
      forge: { training: { pollMs: 100 } },
    },
  });
  dev = await t.user('developer');
  dataset = await uploadCsv(t, dev.token, generatedCsv(240), 'tune-rows');
});
afterAll(async () => t?.close());

const spec = () => ({
  name: 'churn-tuned',
  dataset_id: dataset.id,
  dataset_version: dataset.version,
  target: 'label',
  task: 'classification',
  experiment: 'churn-search',
  steps: [
    { type: 'standard_scaler', config: {} },
    { type: 'logistic_regression', config: { max_iter: 100 } },
  ],
});
const get = async (url: string) => {
  const res = await t.as(dev.token, { method: 'GET', url });
  expect(res.statusCode, `${url}: ${res.body}`).toBe(200);
  return res.json();
};

describe('hyperparameter search over the tabular trainer', () => {
  it('runs every trial as a run, registers only the best trial once, with lineage to the search and the trial', {
    timeout: 120_000,
  }, async () => {
    const res = await t.as(dev.token, {
      method: 'POST',
      url: '/api/v1/training/tune',
      payload: {
        spec: spec(),
        search: {
          strategy: 'grid',
          space: { 'steps.1.config.C': { values: [0.0001, 0.01, 1] } },
          metric: 'log_loss',
          max_concurrency: 2,
        },
      },
    });
    expect(res.statusCode, res.body).toBe(202);
    const id = res.json().job.job_id as string;
    expect(res.json()).toMatchObject({ strategy: 'grid', direction: 'minimize', metric: 'log_loss' });

    let search = res.json();
    await waitFor(
      async () => {
        search = await get(`/api/v1/training/tune/${id}`);
        return search.job.state !== 'running';
      },
      100_000,
      'the search',
    );
    expect(search.job.state, JSON.stringify(search)).toBe('succeeded');
    const trials = search.trials as {
      number: number;
      job_id: string;
      run_id: string;
      metric: number;
      state: string;
      params: Record<string, number>;
    }[];
    expect(trials.map((x) => x.state)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(trials.map((x) => x.params['steps.1.config.C'])).toEqual([0.0001, 0.01, 1]);
    // Stronger regularisation pulls probabilities towards one half: a worse log loss.
    const best = [...trials].sort((a, b) => a.metric - b.metric)[0]!;
    expect(trials[0]!.metric).toBeGreaterThan(best.metric);
    expect(search.best_trial).toMatchObject({ number: best.number, job_id: best.job_id });
    expect(search.job).toMatchObject({
      progress: 100,
      result: { model_name: 'churn-tuned', version: 1 },
      metrics: { log_loss: best.metric },
    });

    // One version, from the search, naming the winning trial; no trial registered its own.
    const model = await get('/api/v1/models/churn-tuned');
    expect(model.versions).toHaveLength(1);
    expect(model.versions[0]).toMatchObject({
      format: 'polar-tabular',
      lineage: { job_id: id, trial_job_id: best.job_id, dataset_version: `${dataset.id}@${dataset.version}` },
      metrics: { log_loss: best.metric },
    });
    for (const x of trials) {
      const job = await get(`/api/v1/training/${x.job_id}`);
      expect(job).toMatchObject({
        state: 'succeeded',
        result: null,
        message: 'Trained and evaluated; not registered',
      });
      expect(job.spec).toMatchObject({
        register: false,
        register_as: 'churn-tuned',
        experiment: 'churn-search',
      });
      // The pipelines the trials kept are gone once the best is registered.
      expect(existsSync(join(t.dataDir, 'forge', 'jobs', x.job_id))).toBe(false);
    }

    // Every trial is a run of the spec's experiment, and so is the search itself.
    await waitFor(
      async () => (await get('/api/v1/runs?experiment=churn-search&status=succeeded')).items.length === 4,
      10_000,
      'runs caught up',
    );
    const runs = (
      await get(
        `/api/v1/runs?experiment=churn-search&tag=polar.search_job_id:${id}&order_by=metrics.log_loss`,
      )
    ).items;
    expect(runs.map((r: { id: string }) => r.id)).toEqual(
      [...trials].sort((a, b) => a.metric - b.metric).map((x) => x.run_id),
    );
    expect(runs[0]).toMatchObject({
      tags: { 'polar.best_trial': 'true', 'polar.trial': String(best.number) },
      artifacts: { model: { name: 'churn-tuned', version: 1 } },
      metrics: { log_loss: best.metric },
    });
    const parentRun = (await get('/api/v1/runs?experiment=churn-search&tag=polar.search:grid')).items;
    expect(parentRun).toHaveLength(1);
    expect(parentRun[0]).toMatchObject({
      job_id: id,
      status: 'succeeded',
      artifacts: { model: { version: 1 } },
    });
    const cmp = await get(`/api/v1/runs/compare?ids=${trials.map((x) => x.run_id).join(',')}`);
    expect(cmp.params_diff).toEqual([{ key: 'steps.1.config.C', values: [0.0001, 0.01, 1] }]);
    expect(cmp.params_same).toMatchObject({
      'steps.1.config.max_iter': 100,
      'steps.1.config.fit_intercept': true,
    });
  });

  it('checks every trial’s config with the step’s schema before dispatching: 400 naming the searched field', async () => {
    const res = await t.as(dev.token, {
      method: 'POST',
      url: '/api/v1/training/tune',
      payload: {
        spec: { ...spec(), name: 'never-tuned' },
        search: {
          strategy: 'random',
          n_trials: 6,
          seed: 3,
          space: {
            'steps.1.config.C': { values: [1, -1] },
            'steps.1.config.tol': { float: [1e-6, 1e-3], log: true },
          },
          metric: 'accuracy',
        },
      },
    });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().code).toBe('invalid_search');
    expect(res.json().errors).toEqual([
      { path: 'body.search.space.steps.1.config.C', message: expect.stringMatching(/^-1: /) },
    ]);
    const budget = await t.as(dev.token, {
      method: 'POST',
      url: '/api/v1/training/tune',
      payload: {
        spec: { ...spec(), name: 'never-tuned' },
        search: {
          strategy: 'successive_halving',
          n_trials: 3,
          space: { 'steps.1.config.C': { float: [0.1, 10], log: true } },
          metric: 'accuracy',
          halving: { budget: 'steps.1.config.max_iter', min_budget: 50, max_budget: 200_000, eta: 3 },
        },
      },
    });
    expect(budget.statusCode, budget.body).toBe(400);
    expect(budget.json().errors.map((e: { path: string }) => e.path)).toEqual(['body.search.halving.budget']);
    const jobs = (await get('/api/v1/training?limit=200')).items;
    expect(jobs.some((j: { name: string }) => j.name.startsWith('never-tuned'))).toBe(false);
  });
});
