import { z } from 'zod';
import { StepError } from '../../errors.js';
import { featureMatrix, type Matrix } from '../../matrix.js';
import { defineModel } from '../../steps/util.js';
import type { FitContext, ModelOutput } from '../../types.js';
import { solveSpd } from './linalg.js';

const params = z.object({
  features: z.array(z.string()),
  coef: z.array(z.number()),
  intercept: z.number(),
});
type Params = z.infer<typeof params>;

/** Rows between progress reports and cancel checks while the normal equations accumulate. */
const CHUNK = 8192;

/**
 * Least squares with an L2 penalty on the coefficients (never on the intercept), solved through the
 * normal equations of the centred data: (XᵀX + P) w = Xᵀy, P diagonal. `penalty` maps each
 * feature's centred sum of squares to its diagonal entry.
 */
function fitLeastSquares(
  x: Matrix,
  y: Float64Array,
  penalty: (sumOfSquares: number) => number,
  intercept: boolean,
  ctx: FitContext,
): { coef: Float64Array; intercept: number } {
  const { n, d, data } = x;
  const xMean = new Float64Array(d);
  let yMean = 0;
  if (intercept) {
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < d; j++) xMean[j] = (xMean[j] as number) + (data[i * d + j] as number);
      yMean += y[i] as number;
    }
    for (let j = 0; j < d; j++) xMean[j] = (xMean[j] as number) / n;
    yMean /= n;
  }
  const a = new Float64Array(d * d);
  const b = new Float64Array(d);
  const row = new Float64Array(d);
  for (let start = 0; start < n; start += CHUNK) {
    ctx.signal.throwIfAborted();
    for (let i = start; i < Math.min(n, start + CHUNK); i++) {
      for (let j = 0; j < d; j++) row[j] = (data[i * d + j] as number) - (xMean[j] as number);
      const yi = (y[i] as number) - yMean;
      // Upper triangle only; mirrored below.
      for (let j = 0; j < d; j++) {
        const rj = row[j] as number;
        b[j] = (b[j] as number) + rj * yi;
        for (let k = j; k < d; k++) a[j * d + k] = (a[j * d + k] as number) + rj * (row[k] as number);
      }
    }
    ctx.progress(Math.min(n, start + CHUNK) / n);
  }
  for (let j = 0; j < d; j++) {
    for (let k = 0; k < j; k++) a[j * d + k] = a[k * d + j] as number;
    a[j * d + j] = (a[j * d + j] as number) + penalty(a[j * d + j] as number);
  }
  const coef = solveSpd(a, b, d);
  let b0 = yMean;
  for (let j = 0; j < d; j++) b0 -= (xMean[j] as number) * (coef[j] as number);
  return { coef, intercept: intercept ? b0 : 0 };
}

function predictLinear(frame: Parameters<typeof featureMatrix>[0], p: Params, step: string): ModelOutput {
  const x = featureMatrix(frame, step, p.features);
  const out = new Float64Array(x.n);
  for (let i = 0; i < x.n; i++) {
    let s = p.intercept;
    for (let j = 0; j < x.d; j++) s += (p.coef[j] as number) * (x.data[i * x.d + j] as number);
    out[i] = s;
  }
  return { values: out };
}

function requireRows(n: number, step: string) {
  if (n < 2) throw new StepError('not_enough_rows', `${step}: needs at least 2 training rows, got ${n}`);
}

/**
 * A ridge of 1e-10 × each feature's own centred sum of squares keeps XᵀX invertible when features
 * are collinear, whatever their scale, while moving well-posed coefficients by far less than their
 * standard error.
 */
const STABILITY = 1e-10;

export const linearRegression = defineModel({
  kind: 'model',
  type: 'linear_regression',
  description: 'Ordinary least squares linear regression.',
  tasks: ['regression'],
  config: z.strictObject({ fit_intercept: z.boolean().default(true) }),
  params,
  fit(frame, target, cfg, ctx): Params {
    const x = featureMatrix(frame, 'linear_regression');
    requireRows(x.n, 'linear_regression');
    const fit = fitLeastSquares(x, target.values, (ss) => STABILITY * ss, cfg.fit_intercept, ctx);
    return { features: x.names, coef: Array.from(fit.coef), intercept: fit.intercept };
  },
  predict: (frame, p) => predictLinear(frame, p, 'linear_regression'),
});

export const ridge = defineModel({
  kind: 'model',
  type: 'ridge',
  description: 'Linear regression with an L2 penalty alpha on the coefficients.',
  tasks: ['regression'],
  config: z.strictObject({
    alpha: z.number().min(0).max(1e12).default(1).describe('Strength of the L2 penalty'),
    fit_intercept: z.boolean().default(true),
  }),
  params,
  fit(frame, target, cfg, ctx): Params {
    const x = featureMatrix(frame, 'ridge');
    requireRows(x.n, 'ridge');
    const fit = fitLeastSquares(x, target.values, () => cfg.alpha, cfg.fit_intercept, ctx);
    return { features: x.names, coef: Array.from(fit.coef), intercept: fit.intercept };
  },
  predict: (frame, p) => predictLinear(frame, p, 'ridge'),
});
