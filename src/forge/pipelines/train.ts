import type { TabularPipeline } from '../../core/runtimes/tabular/contract.js';
import { type Frame, takeRows } from '../frame/frame.js';
import { PipelineError, StepError } from './errors.js';
import { type FeatureSchema, featureSchema } from './features.js';
import { type FittedPipeline, type Label, transformFrame } from './fitted.js';
import {
  type ClassificationMetrics,
  classificationMetrics,
  type RegressionMetrics,
  regressionMetrics,
} from './metrics.js';
import { toPlainJson } from './plain.js';
import { builtinSteps, type StepRegistry } from './registry.js';
import { resolveSpec } from './spec.js';
import { trainTestSplit } from './split.js';
import { separateTarget } from './target.js';
import type { FitContext, ModelOutput, Target } from './types.js';

export interface ClusteringMetrics {
  /** Sum of squared distances of the evaluated rows to their cluster centres; null if the model gives none. */
  inertia: number | null;
}

export type PipelineMetrics = ClassificationMetrics | RegressionMetrics | ClusteringMetrics;

export interface TrainResult {
  /** The `polar-tabular` document to store as the version's pipeline.json. */
  pipeline: TabularPipeline;
  metrics: PipelineMetrics;
  /** The input columns, their types and whether a row must carry them (also in `pipeline`). */
  features: FeatureSchema[];
  /** The columns the model was fitted on, after the transforms. */
  model_features: string[];
  evaluation: {
    train_rows: number;
    test_rows: number;
    /** 'train' when test_size is 0: the metrics then flatter the model. */
    evaluated_on: 'test' | 'train';
    stratified: boolean;
    /** Rows left out because their target was missing. */
    dropped_rows: number;
  };
  /** The fitted steps with in-memory params (what `pipeline` holds as JSON). */
  fitted: FittedPipeline;
}

/** Progress weights: a transform is a pass or two over the data; the model is most of the work. */
const TRANSFORM_WEIGHT = 1;
const MODEL_WEIGHT = 8;
const EVALUATION_WEIGHT = 1;

/** Overall progress from each stage's own 0..1, never going backwards. */
function progressOf(ctx: FitContext, weights: number[]) {
  const total = weights.reduce((a, b) => a + b, 0);
  let reported = 0;
  const report = (stage: number, fraction: number) => {
    const done = weights.slice(0, stage).reduce((a, b) => a + b, 0);
    const f = Math.min(1, (done + (weights[stage] as number) * Math.min(1, Math.max(0, fraction))) / total);
    if (f > reported) {
      reported = f;
      ctx.progress(f);
    }
  };
  return {
    report,
    child: (stage: number): FitContext => ({ ...ctx, progress: (f) => report(stage, f) }),
  };
}

/** A step's data error, told with the step's place in the spec so the user knows where to look. */
async function atStep<T>(index: number, type: string, run: () => T | Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    throw e instanceof StepError ? e.at(index, type) : e;
  }
}

function evaluate(out: ModelOutput, target: Target, k: number): PipelineMetrics {
  if (target.task === 'classification')
    return classificationMetrics(target.values, out.values, out.probabilities, k);
  if (target.task === 'regression') return regressionMetrics(target.values, out.values);
  if (!out.distances) return { inertia: null };
  let s = 0;
  for (const v of out.distances) s += v;
  return { inertia: s };
}

/**
 * A step's params as plain JSON. Non-finite numbers there come from features so large that the
 * fit overflowed; the user can fix that (scale them), so it is a data error, not a crash.
 */
function paramsJson(s: { step: { type: string }; params: unknown }, i: number): unknown {
  try {
    return toPlainJson(s.params, `steps[${i}].params`);
  } catch (e) {
    throw new PipelineError(
      'numeric_overflow',
      `steps[${i}] (${s.step.type}): the fit did not give finite numbers (${(e as Error).message}); scale large features first, e.g. with standard_scaler`,
      { errors: [{ path: `steps[${i}]`, message: 'the fit did not give finite numbers' }] },
    );
  }
}

const subset = (t: Target, rows: Uint32Array): Target => ({
  ...t,
  values: Float64Array.from(rows, (i) => t.values[i] as number),
});

/**
 * Trains a pipeline: separate the target, split, fit each transform on the output of the previous
 * one (training rows only), fit the model, measure it on the held-out rows, and write it all as a
 * `polar-tabular` document whose params are plain JSON.
 */
export async function trainPipeline(
  frame: Frame,
  specInput: unknown,
  ctx: FitContext,
  opts: { registry?: StepRegistry } = {},
): Promise<TrainResult> {
  const spec = resolveSpec(specInput, opts.registry ?? builtinSteps);
  let data = frame;
  if (spec.features) {
    const missing = spec.features.filter((f) => !frame.columns.some((c) => c.name === f));
    if (missing.length)
      throw new PipelineError(
        'unknown_column',
        `features not in the data: ${missing.map((m) => `'${m}'`).join(', ')}`,
        {
          errors: [{ path: 'features', message: `not in the data: ${missing.join(', ')}` }],
        },
      );
    const keep = new Set([...spec.features, ...(spec.target ? [spec.target] : [])]);
    data = { length: frame.length, columns: frame.columns.filter((c) => keep.has(c.name)) };
  }
  const { features, target, labels, dropped } = separateTarget(data, spec.target, spec.task);
  if (dropped) ctx.log(`left out ${dropped} rows whose target '${spec.target}' is missing`);

  const classes = spec.task === 'classification' ? target.values : undefined;
  const split = trainTestSplit(features.length, {
    test_size: spec.split.test_size,
    seed: spec.split.seed ?? ctx.seed,
    classes: spec.split.stratify ? classes : undefined,
  });
  if (spec.split.stratify && classes && !split.stratified)
    ctx.log('a class has a single row, so the split keeps no class proportions');
  const evaluatedOnTrain = split.test.length === 0;
  const train = takeRows(features, split.train);
  const trainTarget = subset(target, split.train);

  const weights = [...spec.transforms.map(() => TRANSFORM_WEIGHT), MODEL_WEIGHT, EVALUATION_WEIGHT];
  const progress = progressOf(ctx, weights);
  const fitted: FittedPipeline = {
    task: spec.task,
    labels,
    transforms: [],
    model: { step: spec.model.step, params: undefined },
  };
  let current = train;
  for (const [i, t] of spec.transforms.entries()) {
    ctx.signal.throwIfAborted();
    const childCtx = progress.child(i);
    const params = await atStep(t.index, t.step.type, async () => {
      const p = await t.step.fit(current, t.config, childCtx);
      current = t.step.apply(current, p);
      return p;
    });
    fitted.transforms.push({ step: t.step, params });
    progress.report(i, 1);
  }
  ctx.signal.throwIfAborted();
  const modelStage = spec.transforms.length;
  const m = spec.model;
  fitted.model.params = await atStep(m.index, m.step.type, () =>
    m.step.fit(current, trainTarget, m.config, progress.child(modelStage)),
  );
  progress.report(modelStage, 1);
  ctx.signal.throwIfAborted();

  const evalRows = evaluatedOnTrain ? split.train : split.test;
  const evalFrame = evaluatedOnTrain ? current : transformFrame(takeRows(features, evalRows), fitted);
  const out = await atStep(m.index, m.step.type, () => m.step.predict(evalFrame, fitted.model.params));
  const metrics = evaluate(out, subset(target, evalRows), labels?.length ?? 0);
  const schema = featureSchema(train, fitted);
  progress.report(modelStage + 1, 1);

  const pipeline: TabularPipeline = {
    format: 'polar-tabular',
    format_version: 1,
    task: spec.task,
    features: schema,
    ...(spec.target ? { target: spec.target } : {}),
    ...(labels ? { labels: labels as Label[] } : {}),
    steps: [...fitted.transforms, fitted.model].map((s, i) => ({
      type: s.step.type,
      params: paramsJson(s, i),
    })),
  };
  return {
    pipeline,
    metrics,
    features: schema,
    model_features: current.columns.map((c) => c.name),
    evaluation: {
      train_rows: split.train.length,
      test_rows: split.test.length,
      evaluated_on: evaluatedOnTrain ? 'train' : 'test',
      stratified: split.stratified,
      dropped_rows: dropped,
    },
    fitted,
  };
}
