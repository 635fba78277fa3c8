import type { Column, Frame } from '../frame/frame.js';
import { isNumeric, takeRows } from '../frame/frame.js';
import { StepError } from './errors.js';
import { type FittedPipeline, runPipeline } from './fitted.js';

/** An input column of a trained pipeline, as pipeline.json lists it. */
export interface FeatureSchema {
  name: string;
  type: Column['type'];
  /** False when a row may leave it out (an imputer fills it, or nothing downstream uses it). */
  required: boolean;
}

/** Rows the probe runs; a few suffice since a step's handling of a missing column is per value. */
const PROBE_ROWS = 8;

const missing = (c: Column, n: number): Column =>
  isNumeric(c)
    ? { ...c, values: new Float64Array(n).fill(Number.NaN) }
    : { ...c, values: new Array<string | null>(n).fill(null) };

/**
 * Which inputs a row must carry. Rather than have every step declare how it treats missing values,
 * the fitted pipeline is asked: a feature is optional when the pipeline still predicts with that
 * column missing in every row (an imputer fills it, one_hot encodes it as zeros, a step drops it,
 * or the model takes missing values). The answer comes from the very appliers serving runs.
 */
export function featureSchema(train: Frame, fitted: FittedPipeline): FeatureSchema[] {
  const sample = takeRows(
    train,
    Array.from({ length: Math.min(PROBE_ROWS, train.length) }, (_, i) => i),
  );
  return train.columns.map((c, j) => {
    const probe: Frame = {
      length: sample.length,
      columns: sample.columns.map((s, k) => (k === j ? missing(s, sample.length) : s)),
    };
    let required = false;
    try {
      runPipeline(probe, fitted);
    } catch (e) {
      if (!(e instanceof StepError)) throw e;
      required = true;
    }
    return { name: c.name, type: c.type, required };
  });
}
