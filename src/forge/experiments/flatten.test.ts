import { describe, expect, it } from 'vitest';
import { flattenParams, numericMetrics } from './flatten.js';
import { paramsOf } from './params.js';

describe('run params', () => {
  it('flattens step configs by position and leaves out how the job is run', () => {
    expect(
      flattenParams({
        name: 'churn',
        description: 'x',
        priority: 3,
        resources: { timeout_seconds: 60 },
        register_as: 'churn',
        experiment: 'e',
        register: false,
        dataset_id: 'd1',
        dataset_version: 2,
        target: 'y',
        task: 'classification',
        features: ['a', 'b'],
        steps: [
          { type: 'standard_scaler', config: {} },
          { type: 'logistic_regression', config: { C: 0.5, nested: { k: 1 } } },
        ],
        evaluation: { test_size: 0.2, seed: 42, stratify: true },
      }),
    ).toEqual({
      dataset_id: 'd1',
      dataset_version: 2,
      target: 'y',
      task: 'classification',
      features: ['a', 'b'],
      'steps.0.type': 'standard_scaler',
      'steps.0.config': {},
      'steps.1.type': 'logistic_regression',
      'steps.1.config.C': 0.5,
      'steps.1.config.nested.k': 1,
      'evaluation.test_size': 0.2,
      'evaluation.seed': 42,
      'evaluation.stratify': true,
    });
  });

  it('keeps a search space whole', () => {
    const p = flattenParams({
      search: { strategy: 'grid', space: { 'steps.1.config.C': { values: [1, 2] } } },
    });
    expect(p).toEqual({
      'search.strategy': 'grid',
      'search.space': { 'steps.1.config.C': { values: [1, 2] } },
    });
  });

  it('fills in step defaults from the step registry, so a default compares with a value set', async () => {
    const p = await paramsOf({
      task: 'classification',
      target: 'y',
      steps: [{ type: 'logistic_regression', config: { C: 0.5 } }],
    });
    expect(p).toMatchObject({
      'steps.0.config.C': 0.5,
      'steps.0.config.max_iter': 200,
      'steps.0.config.fit_intercept': true,
    });
  });

  it('keeps configs as sent when the registry does not know the step', async () => {
    const p = await paramsOf({
      task: 'classification',
      target: 'y',
      steps: [{ type: 'scripted', config: { ticks: 2 } }],
    });
    expect(p).toEqual({
      task: 'classification',
      target: 'y',
      'steps.0.type': 'scripted',
      'steps.0.config.ticks': 2,
    });
  });
});

describe('run metrics', () => {
  it('keeps finite numbers, flattens objects and drops lists, strings and nulls', () => {
    expect(
      numericMetrics({
        accuracy: 0.9,
        roc_auc: null,
        confusion_matrix: [
          [1, 2],
          [3, 4],
        ],
        evaluated_on: 'test',
        train_rows: 80,
        loss: Number.NaN,
        per_class: { a: { f1: 0.5 } },
      }),
    ).toEqual({ accuracy: 0.9, train_rows: 80, 'per_class.a.f1': 0.5 });
  });
});
