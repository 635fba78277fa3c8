import { describe, expect, it } from 'vitest';
import { trainingSpec } from '../jobs/spec.js';
import { defaultDirection, searchSection, trialSpec, withAssignment } from './spec.js';

const base = trainingSpec.parse({
  name: 'churn-model',
  dataset_id: 'd1',
  dataset_version: 1,
  target: 'y',
  task: 'classification',
  steps: [
    { type: 'standard_scaler', config: {} },
    { type: 'logistic_regression', config: { C: 1, extra: { a: 1 } } },
  ],
});

describe('trial specs', () => {
  it('sets the searched fields in a copy of the steps', () => {
    const steps = withAssignment(base.steps, {
      'steps.1.config.C': 0.1,
      'steps.1.config.extra.b': 2,
      'steps.0.config.x': 'y',
    });
    expect(steps).toEqual([
      { type: 'standard_scaler', config: { x: 'y' } },
      { type: 'logistic_regression', config: { C: 0.1, extra: { a: 1, b: 2 } } },
    ]);
    expect(base.steps[1]?.config).toEqual({ C: 1, extra: { a: 1 } });
  });

  it('names the trial, registers nothing and keeps the search’s model as the target', () => {
    const s = trialSpec(base, { 'steps.1.config.C': 0.5 }, 12);
    expect(s).toMatchObject({ name: 'churn-model trial 12', register: false, register_as: 'churn-model' });
    expect(trainingSpec.safeParse(s).success).toBe(true);
    const long = trialSpec({ ...base, name: 'x'.repeat(100), register_as: 'm' }, {}, 200);
    expect(long.name).toHaveLength(100);
    expect(long.name.endsWith(' trial 200')).toBe(true);
  });
});

describe('search section', () => {
  const ok = { strategy: 'grid', space: { 'steps.1.config.C': { values: [1] } }, metric: 'accuracy' };

  it('fills defaults', () => {
    expect(searchSection.parse(ok)).toMatchObject({ seed: 0, max_concurrency: 2 });
  });

  it.each([
    [{ ...ok, strategy: 'random' }, 'n_trials'],
    [{ ...ok, n_trials: 3 }, 'n_trials'],
    [{ ...ok, strategy: 'successive_halving', n_trials: 9 }, 'halving'],
    [{ ...ok, halving: { budget: 'steps.1.config.max_iter', min_budget: 1, max_budget: 9 } }, 'halving'],
    [
      {
        ...ok,
        strategy: 'successive_halving',
        n_trials: 9,
        halving: { budget: 'steps.1.config.C', min_budget: 1, max_budget: 9 },
      },
      'halving.budget',
    ],
    [
      {
        ...ok,
        strategy: 'successive_halving',
        n_trials: 9,
        halving: { budget: 'steps.1.config.max_iter', min_budget: 10, max_budget: 9 },
      },
      'halving.min_budget',
    ],
  ])('refuses inconsistent settings, at the field (%#)', (input, path) => {
    const r = searchSection.safeParse(input);
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => i.path.join('.'))).toContain(path);
  });

  it('minimises losses and errors unless told, maximises the rest', () => {
    expect(['log_loss', 'rmse', 'mae', 'inertia', 'val_loss'].map(defaultDirection)).toEqual(
      Array(5).fill('minimize'),
    );
    expect(['accuracy', 'f1_macro', 'r2', 'roc_auc'].map(defaultDirection)).toEqual(
      Array(4).fill('maximize'),
    );
  });
});
