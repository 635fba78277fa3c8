import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { isPermanentPipelineError, PipelineError } from './errors.js';
import { BUILTIN_STEPS, builtinSteps, createStepRegistry } from './registry.js';
import { resolveSpec } from './spec.js';
import { frameOf, testContext } from './test-frames.js';
import { trainPipeline } from './train.js';
import type { TransformStep } from './types.js';

function specError(spec: unknown): PipelineError {
  try {
    resolveSpec(spec, builtinSteps);
  } catch (e) {
    if (e instanceof PipelineError) return e;
    throw e;
  }
  throw new Error('the spec was accepted');
}

describe('step registry', () => {
  it('lists every step with its kind, description and config JSON schema; the split comes first', () => {
    const list = builtinSteps.list();
    expect(list.map((s) => s.type)).toEqual([
      'train_test_split',
      'drop_columns',
      'select_columns',
      'impute',
      'standard_scaler',
      'min_max_scaler',
      'robust_scaler',
      'one_hot',
      'ordinal_encoder',
      ...BUILTIN_STEPS.filter((s) => s.kind === 'model').map((s) => s.type),
    ]);
    const impute = list.find((s) => s.type === 'impute');
    expect(impute).toMatchObject({ kind: 'transform', config_schema: { type: 'object' } });
    expect(impute?.config_schema.properties).toHaveProperty('strategy.enum', [
      'mean',
      'median',
      'most_frequent',
      'constant',
    ]);
    // Defaults are optional for a client.
    expect(impute?.config_schema.required ?? []).toEqual([]);
    expect(list.find((s) => s.type === 'logistic_regression')).toMatchObject({
      kind: 'model',
      tasks: ['classification'],
    });
    expect(builtinSteps.get('ridge')?.kind).toBe('model');
    expect(builtinSteps.get('nope')).toBeUndefined();
  });

  it('refuses a type registered twice', () => {
    const [first] = BUILTIN_STEPS;
    expect(() => createStepRegistry([first!, first!])).toThrow(/twice/);
  });

  it('a new step needs nothing but its entry: it trains and is listed', async () => {
    const double: TransformStep<{ column: string }, { column: string }> = {
      kind: 'transform',
      type: 'double',
      description: 'Doubles a column.',
      config: z.strictObject({ column: z.string() }),
      fit: (_f, c) => ({ column: c.column }),
      apply: (f, p) => ({
        length: f.length,
        columns: f.columns.map((c) =>
          c.name === p.column && c.type === 'numeric' ? { ...c, values: c.values.map((v) => v * 2) } : c,
        ),
      }),
    };
    const registry = createStepRegistry([...BUILTIN_STEPS, double as TransformStep]);
    expect(registry.list().some((s) => s.type === 'double')).toBe(true);
    const frame = frameOf({ x: [1, 2, 3, 4, 5, 6], y: [2, 4, 6, 8, 10, 12] });
    const r = await trainPipeline(
      frame,
      {
        target: 'y',
        task: 'regression',
        steps: [{ type: 'double', config: { column: 'x' } }, { type: 'linear_regression' }],
      },
      testContext(),
      { registry },
    );
    expect(r.pipeline.steps.map((s) => s.type)).toEqual(['double', 'linear_regression']);
    expect((r.pipeline.steps[1]?.params as { coef: number[] } | undefined)?.coef[0]).toBeCloseTo(1, 8);
  });
});

describe('pipeline spec', () => {
  it('reports each bad step config at steps[i].config.<field>, all at once, as a permanent 400', () => {
    const e = specError({
      target: 'y',
      task: 'classification',
      steps: [
        { type: 'impute', config: { strategy: 'mode' } },
        { type: 'one_hot', config: { max_categories: 1 } },
        { type: 'logistic_regression', config: { C: -1, extra: true } },
      ],
    });
    expect(e).toMatchObject({ code: 'invalid_pipeline_spec', status: 400, retryable: false });
    expect(isPermanentPipelineError(e)).toBe(true);
    expect(e.errors?.map((x) => x.path)).toEqual([
      'steps[0].config.strategy',
      'steps[1].config.max_categories',
      'steps[2].config.C',
      'steps[2].config',
    ]);
  });

  it('refuses unknown types, a model that is not last, two models and a model for another task', () => {
    expect(
      specError({ target: 'y', task: 'regression', steps: [{ type: 'gbdt_x' }, { type: 'ridge' }] }).errors,
    ).toEqual([
      {
        path: 'steps[0].type',
        message: expect.stringMatching(/unknown step type 'gbdt_x' \(known: train_test_split, /),
      },
    ]);
    expect(
      specError({ target: 'y', task: 'regression', steps: [{ type: 'ridge' }, { type: 'standard_scaler' }] })
        .errors,
    ).toEqual([{ path: 'steps[1].type', message: 'the last step must be a model' }]);
    expect(
      specError({ target: 'y', task: 'regression', steps: [{ type: 'ridge' }, { type: 'ridge' }] })
        .errors?.[0]?.path,
    ).toBe('steps[1].type');
    expect(
      specError({ target: 'y', task: 'regression', steps: [{ type: 'logistic_regression' }] }).errors,
    ).toEqual([
      {
        path: 'steps[0].type',
        message: "'logistic_regression' does not do regression (it does classification)",
      },
    ]);
    expect(
      specError({ target: 'y', task: 'regression', steps: [{ type: 'impute' }] }).errors?.[0]?.path,
    ).toBe('steps[0].type');
  });

  it('needs a target except for clustering; checks the evaluation block', () => {
    expect(specError({ task: 'regression', steps: [{ type: 'ridge' }] }).errors?.[0]?.path).toBe('target');
    expect(
      resolveSpec({ task: 'clustering', steps: [{ type: 'kmeans' }] }, builtinSteps).target,
    ).toBeUndefined();
    expect(
      specError({ target: 'y', task: 'regression', steps: [{ type: 'ridge' }], evaluation: { test_size: 2 } })
        .errors?.[0]?.path,
    ).toBe('evaluation.test_size');
  });

  it('a train_test_split step configures the split and is no pipeline step', () => {
    const r = resolveSpec(
      {
        target: 'y',
        task: 'classification',
        steps: [
          { type: 'train_test_split', config: { test_size: 0.3, seed: 5 } },
          { type: 'logistic_regression' },
        ],
        evaluation: { test_size: 0.1 },
      },
      builtinSteps,
    );
    expect(r.split).toEqual({ test_size: 0.3, seed: 5, stratify: true });
    expect(r.transforms).toEqual([]);
    expect(r.model.step.type).toBe('logistic_regression');
    expect(
      resolveSpec({ target: 'y', task: 'regression', steps: [{ type: 'ridge' }] }, builtinSteps).split,
    ).toEqual({
      test_size: 0.2,
      stratify: true,
    });
    expect(
      specError({
        target: 'y',
        task: 'regression',
        steps: [{ type: 'train_test_split', config: { test_size: 'x' } }, { type: 'ridge' }],
      }).errors?.[0]?.path,
    ).toBe('steps[0].config.test_size');
  });
});
