import { type Frame, isNumeric } from '../frame/frame.js';
import { StepError } from './errors.js';
import { requireColumn } from './steps/util.js';

/** A model's input: `n` rows of `d` features, row-major, features in `names` order. */
export interface Matrix {
  n: number;
  d: number;
  data: Float64Array;
  names: string[];
}

/**
 * The frame as a numeric matrix for a model. At fit `names` is absent and every column is a feature;
 * at predict the names saved in the params pick the columns (extra ones are ignored). Models that
 * cannot take missing values leave `allowMissing` off and the first NaN is refused, naming its row.
 */
export function featureMatrix(
  frame: Frame,
  step: string,
  names?: readonly string[],
  opts: { allowMissing?: boolean } = {},
): Matrix {
  const cols = names ? names.map((n) => requireColumn(frame, n, step, 'apply')) : frame.columns.map((c) => c);
  if (cols.length === 0)
    throw new StepError('no_features', `${step}: no feature columns are left for the model`);
  const n = frame.length;
  const d = cols.length;
  const data = new Float64Array(n * d);
  cols.forEach((c, j) => {
    if (!isNumeric(c))
      throw new StepError(
        'non_numeric_feature',
        `${step}: feature '${c.name}' is ${c.type}; the model takes numbers only — encode it with a one_hot (or ordinal_encoder) step before the model`,
      );
    const v = c.values;
    for (let i = 0; i < n; i++) {
      const x = v[i] as number;
      if (Number.isNaN(x) && !opts.allowMissing) {
        // At predict the row matters to the caller; at fit, how much of the column is missing.
        const where = names
          ? `is missing in row ${i}`
          : `has ${v.filter(Number.isNaN).length} missing values`;
        throw new StepError(
          'missing_values',
          `${step}: feature '${c.name}' ${where}; add an impute step before the model`,
        );
      }
      data[i * d + j] = x;
    }
  });
  return { n, d, data, names: cols.map((c) => c.name) };
}
