import { type Column, type Frame, isNumeric, takeRows } from '../frame/frame.js';
import { PipelineError } from './errors.js';
import type { Label } from './fitted.js';
import type { Target, Task } from './types.js';

/** A classification target with more classes than this is almost surely a regression target. */
export const MAX_CLASSES = 1000;

export interface SeparatedTarget {
  /** The feature columns, rows without a target value left out. */
  features: Frame;
  target: Target;
  /** Classification: the target's values in class-index order, as the column holds them. */
  labels?: Label[] | undefined;
  /** Rows left out because their target is missing. */
  dropped: number;
}

const byValue = (a: Label, b: Label) => (a < b ? -1 : a > b ? 1 : 0);

/** Each present row's label, typed as the column's values are (booleans as true/false). */
function labelsOf(c: Column): (Label | null)[] {
  if (!isNumeric(c)) return c.values;
  return Array.from(c.values, (v) => (Number.isNaN(v) ? null : c.type === 'boolean' ? v !== 0 : v));
}

/**
 * Splits the target column off the frame. Classification labels become indices into the sorted
 * distinct labels; regression needs a numeric column; clustering takes no target (a named one is
 * only kept out of the features). Rows whose target is missing cannot teach anything and are left out.
 */
export function separateTarget(frame: Frame, name: string | undefined, task: Task): SeparatedTarget {
  if (name === undefined) {
    return {
      features: frame,
      target: { task, values: new Float64Array(frame.length).fill(Number.NaN) },
      dropped: 0,
    };
  }
  const col = frame.columns.find((c) => c.name === name);
  if (!col) throw new PipelineError('unknown_column', `the target column '${name}' is not in the data`);
  const rest: Frame = { length: frame.length, columns: frame.columns.filter((c) => c !== col) };
  if (task === 'clustering')
    return {
      features: rest,
      target: { task, values: new Float64Array(frame.length).fill(Number.NaN) },
      dropped: 0,
    };

  if (task === 'regression' && !isNumeric(col))
    throw new PipelineError(
      'invalid_target',
      `the target '${name}' is ${col.type}; regression needs a numeric target (use task classification)`,
    );
  const raw =
    task === 'regression' && isNumeric(col)
      ? Array.from(col.values, (v) => (Number.isNaN(v) ? null : v))
      : labelsOf(col);
  const keep: number[] = [];
  raw.forEach((v, i) => {
    if (v !== null) keep.push(i);
  });
  if (keep.length === 0) throw new PipelineError('invalid_target', `the target '${name}' has no values`);
  const features = keep.length === frame.length ? rest : takeRows(rest, keep);
  const present = keep.map((i) => raw[i] as Label);

  if (task === 'regression')
    return {
      features,
      target: { task, values: Float64Array.from(present as number[]) },
      dropped: frame.length - keep.length,
    };

  const labels = [...new Set(present)].sort(byValue);
  if (labels.length < 2)
    throw new PipelineError(
      'invalid_target',
      `the target '${name}' has a single class; classification needs two or more`,
    );
  if (labels.length > MAX_CLASSES)
    throw new PipelineError(
      'invalid_target',
      `the target '${name}' has ${labels.length} distinct values; classification takes at most ${MAX_CLASSES} classes (use task regression)`,
    );
  const index = new Map(labels.map((l, i) => [l, i]));
  return {
    features,
    target: {
      task,
      values: Float64Array.from(present, (l) => index.get(l) as number),
      labels: labels.map(String),
    },
    labels,
    dropped: frame.length - keep.length,
  };
}
