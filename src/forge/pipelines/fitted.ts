import type { PredictResult } from '../../core/runtimes/types.js';
import type { Frame } from '../frame/frame.js';
import type { ModelOutput, ModelStep, Task, TransformStep } from './types.js';

/** A class label as pipeline.json stores it: the target column's own value. */
export type Label = string | number | boolean;

/** Steps with their fitted params: what training produces and what serving runs. */
export interface FittedPipeline {
  task: Task;
  /** Classification: labels in class-index order. */
  labels?: Label[] | undefined;
  transforms: { step: TransformStep; params: unknown }[];
  model: { step: ModelStep; params: unknown };
}

/** The frame as the model sees it: every transform applied in order. */
export function transformFrame(frame: Frame, fitted: FittedPipeline): Frame {
  let out = frame;
  for (const t of fitted.transforms) out = t.step.apply(out, t.params);
  return out;
}

export function runPipeline(frame: Frame, fitted: FittedPipeline): ModelOutput {
  return fitted.model.step.predict(transformFrame(frame, fitted), fitted.model.params);
}

/**
 * The model's output as the predict API answers it: class labels for classifiers (with each row's
 * probabilities keyed by label), numbers for regression, cluster indices for clustering.
 */
export function formatOutput(out: ModelOutput, fitted: FittedPipeline): PredictResult {
  const labels = fitted.labels;
  if (fitted.task !== 'classification' || !labels) return { predictions: Array.from(out.values) };
  const keys = labels.map(String);
  return {
    predictions: Array.from(out.values, (v) => labels[v] as Label),
    probabilities: out.probabilities?.map((p) => Object.fromEntries(keys.map((k, c) => [k, p[c] as number]))),
  };
}
