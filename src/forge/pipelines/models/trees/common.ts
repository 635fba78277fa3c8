/** What the tree steps share: their input columns, class weights, and how outputs are shaped. */
import { z } from 'zod';
import { type Frame, isNumeric } from '../../../frame/frame.js';
import { StepError } from '../../errors.js';
import { requireColumn } from '../../steps/util.js';
import type { Target } from '../../types.js';

/**
 * The model's feature columns as they are: numeric, missing values (NaN) allowed since trees learn
 * where they go. At predict `names` (from the params) picks the columns; extra ones are ignored.
 */
export function featureColumns(
  frame: Frame,
  step: string,
  names?: readonly string[],
): { names: string[]; columns: Float64Array[] } {
  const cols = names ? names.map((n) => requireColumn(frame, n, step, 'apply')) : [...frame.columns];
  if (cols.length === 0)
    throw new StepError('no_features', `${step}: no feature columns are left for the model`);
  const columns = cols.map((c) => {
    if (!isNumeric(c))
      throw new StepError(
        'non_numeric_feature',
        `${step}: feature '${c.name}' is ${c.type}; the model takes numbers only — encode it with a one_hot (or ordinal_encoder) step before the model`,
      );
    return c.values;
  });
  return { names: cols.map((c) => c.name), columns };
}

export const classWeightConfig = z
  .union([z.literal('balanced'), z.record(z.string(), z.number().positive().max(1e6))])
  .nullable()
  .default(null)
  .describe(
    "Per-class weights: 'balanced' (inverse to each class's frequency) or {label: weight}, unnamed classes 1",
  );
export type ClassWeightConfig = z.infer<typeof classWeightConfig>;

/** Number of classes, checked: at least two. */
export function classCount(target: Target, step: string): number {
  const k = target.labels?.length ?? 0;
  if (k < 2) throw new StepError('invalid_target', `${step}: needs at least two classes`);
  return k;
}

/** Per-row weights from the class weights, or null when every row weighs 1. */
export function rowWeights(
  cw: ClassWeightConfig,
  target: Target,
  k: number,
  step: string,
): Float64Array | null {
  if (cw === null) return null;
  const y = target.values;
  const perClass = new Float64Array(k).fill(1);
  if (cw === 'balanced') {
    const counts = new Float64Array(k);
    for (let i = 0; i < y.length; i++) counts[y[i]!]! += 1;
    for (let c = 0; c < k; c++) perClass[c] = counts[c]! > 0 ? y.length / (k * counts[c]!) : 1;
  } else {
    const labels = target.labels ?? [];
    for (const [label, w] of Object.entries(cw)) {
      const c = labels.indexOf(label);
      if (c < 0)
        throw new StepError(
          'invalid_pipeline_spec',
          `${step}: class_weight names '${label}', which is not a class of the target (classes: ${labels.slice(0, 12).join(', ')})`,
        );
      perClass[c] = w;
    }
  }
  return Float64Array.from(y, (c) => perClass[c]!);
}

/** Index of the largest value; ties go to the first, as numpy's argmax. */
export function argmax(v: Float64Array): number {
  let best = 0;
  for (let k = 1; k < v.length; k++) if (v[k]! > v[best]!) best = k;
  return best;
}

/** Classifier output from per-row class probabilities. */
export function fromProbabilities(probabilities: Float64Array[]) {
  return { values: Float64Array.from(probabilities, argmax), probabilities };
}

export function requireRows(n: number, min: number, step: string): void {
  if (n < min)
    throw new StepError('not_enough_rows', `${step}: needs at least ${min} training rows, got ${n}`);
}

/**
 * What every tree fit starts from: the feature columns, at least two rows, the class count
 * (0 for regression) and per-row class weights (null when every row weighs 1).
 */
export function fitInputs(
  step: string,
  frame: Frame,
  target: Target,
  classWeight: ClassWeightConfig,
): {
  names: string[];
  columns: Float64Array[];
  classification: boolean;
  k: number;
  weights: Float64Array | null;
} {
  const { names, columns } = featureColumns(frame, step);
  requireRows(frame.length, 2, step);
  const classification = target.task === 'classification';
  const k = classification ? classCount(target, step) : 0;
  const weights = rowWeights(classWeight, target, k, step);
  return { names, columns, classification, k, weights };
}
