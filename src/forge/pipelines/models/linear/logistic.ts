import { z } from 'zod';
import type { Frame } from '../../../frame/frame.js';
import { StepError } from '../../errors.js';
import { featureMatrix, type Matrix } from '../../matrix.js';
import { defineModel } from '../../steps/util.js';
import type { ModelOutput } from '../../types.js';
import { minimizeLbfgs } from './lbfgs.js';

const config = z.strictObject({
  C: z
    .number()
    .positive()
    .max(1e12)
    .default(1)
    .describe('Inverse strength of the L2 penalty: smaller is stronger'),
  max_iter: z.number().int().min(1).max(100_000).default(200),
  tol: z
    .number()
    .positive()
    .max(1)
    .default(1e-6)
    .describe('Stop when no gradient component of the mean loss exceeds this'),
  class_weight: z
    .enum(['balanced'])
    .nullable()
    .default(null)
    .describe('balanced weighs each class inversely to its frequency'),
  fit_intercept: z.boolean().default(true),
});
type Config = z.infer<typeof config>;

/**
 * Two classes share one weight vector (the logit of the second class); more classes get one row
 * each (softmax). `coef` is rows × features, `intercept` one per row.
 */
const params = z.object({
  features: z.array(z.string()),
  classes: z.number().int().min(2),
  coef: z.array(z.array(z.number())),
  intercept: z.array(z.number()),
});
type Params = z.infer<typeof params>;

const STEP = 'logistic_regression';

const softplus = (z: number) => (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z)));
const sigmoid = (z: number) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

function sampleWeights(y: Float64Array, k: number, balanced: boolean): Float64Array {
  const w = new Float64Array(y.length).fill(1);
  if (!balanced) return w;
  const counts = new Float64Array(k);
  for (const c of y) counts[c] = (counts[c] as number) + 1;
  for (let i = 0; i < y.length; i++) w[i] = y.length / (k * (counts[y[i] as number] as number));
  return w;
}

/**
 * The penalised mean loss as in scikit-learn, C·Σ wᵢ·lossᵢ + ½‖W‖², divided by C·Σ wᵢ so that
 * `tol` means the same whatever the row count. Parameters are laid out [W row-major, b].
 */
function objective(x: Matrix, y: Float64Array, w: Float64Array, rows: number, cfg: Config) {
  const { n, d, data } = x;
  let total = 0;
  for (const v of w) total += v;
  const scale = 1 / total;
  const penalty = 1 / (cfg.C * total);
  const z = new Float64Array(rows);
  return (theta: Float64Array, grad: Float64Array): number => {
    grad.fill(0);
    let f = 0;
    for (let i = 0; i < n; i++) {
      const off = i * d;
      for (let r = 0; r < rows; r++) {
        let s = cfg.fit_intercept ? (theta[rows * d + r] as number) : 0;
        for (let j = 0; j < d; j++) s += (theta[r * d + j] as number) * (data[off + j] as number);
        z[r] = s;
      }
      const yi = y[i] as number;
      const wi = (w[i] as number) * scale;
      if (rows === 1) {
        const zi = z[0] as number;
        f += wi * (softplus(zi) - (yi === 1 ? zi : 0));
        const e = wi * (sigmoid(zi) - (yi === 1 ? 1 : 0));
        for (let j = 0; j < d; j++) grad[j] = (grad[j] as number) + e * (data[off + j] as number);
        grad[d] = (grad[d] as number) + e;
        continue;
      }
      let max = Number.NEGATIVE_INFINITY;
      for (let r = 0; r < rows; r++) max = Math.max(max, z[r] as number);
      let sum = 0;
      for (let r = 0; r < rows; r++) sum += Math.exp((z[r] as number) - max);
      const lse = max + Math.log(sum);
      f += wi * (lse - (z[yi] as number));
      for (let r = 0; r < rows; r++) {
        const e = wi * (Math.exp((z[r] as number) - lse) - (r === yi ? 1 : 0));
        for (let j = 0; j < d; j++)
          grad[r * d + j] = (grad[r * d + j] as number) + e * (data[off + j] as number);
        grad[rows * d + r] = (grad[rows * d + r] as number) + e;
      }
    }
    for (let k = 0; k < rows * d; k++) {
      const t = theta[k] as number;
      f += 0.5 * penalty * t * t;
      grad[k] = (grad[k] as number) + penalty * t;
    }
    if (!cfg.fit_intercept) for (let r = 0; r < rows; r++) grad[rows * d + r] = 0;
    return f;
  };
}

/** Per row, each class's probability; softmax over the linear scores (sigmoid for two classes). */
function probabilities(x: Matrix, p: Params): Float64Array[] {
  const rows = p.coef.length;
  const out: Float64Array[] = [];
  const z = new Float64Array(rows);
  for (let i = 0; i < x.n; i++) {
    for (let r = 0; r < rows; r++) {
      const c = p.coef[r] as number[];
      let s = p.intercept[r] as number;
      for (let j = 0; j < x.d; j++) s += (c[j] as number) * (x.data[i * x.d + j] as number);
      z[r] = s;
    }
    const probs = new Float64Array(p.classes);
    if (rows === 1) {
      const p1 = sigmoid(z[0] as number);
      probs[0] = 1 - p1;
      probs[1] = p1;
    } else {
      let max = Number.NEGATIVE_INFINITY;
      for (const v of z) max = Math.max(max, v);
      let sum = 0;
      for (let r = 0; r < rows; r++) sum += probs[r] = Math.exp((z[r] as number) - max);
      for (let r = 0; r < rows; r++) probs[r] = (probs[r] as number) / sum;
    }
    out.push(probs);
  }
  return out;
}

/** Index of the largest value; ties go to the first, as numpy's argmax. */
export function argmax(v: Float64Array): number {
  let best = 0;
  for (let k = 1; k < v.length; k++) if ((v[k] as number) > (v[best] as number)) best = k;
  return best;
}

export const logisticRegression = defineModel<Config, Params>({
  kind: 'model',
  type: STEP,
  description:
    'Logistic regression with an L2 penalty (softmax for more than two classes), fitted by L-BFGS.',
  tasks: ['classification'],
  config,
  params,
  fit(frame, target, cfg, ctx) {
    const x = featureMatrix(frame, STEP);
    const k = target.labels?.length ?? 0;
    if (k < 2) throw new StepError('invalid_target', `${STEP}: needs at least two classes`);
    if (x.n < 2) throw new StepError('not_enough_rows', `${STEP}: needs at least 2 training rows`);
    const rows = k === 2 ? 1 : k;
    const w = sampleWeights(target.values, k, cfg.class_weight === 'balanced');
    const fn = objective(x, target.values, w, rows, cfg);
    const result = minimizeLbfgs(fn, new Float64Array(rows * (x.d + 1)), {
      maxIter: cfg.max_iter,
      gradTol: cfg.tol,
      signal: ctx.signal,
      onIteration: (iter, f) => {
        ctx.metric('train_loss', f, iter);
        ctx.progress(iter / cfg.max_iter);
      },
    });
    ctx.log(
      result.converged
        ? `${STEP}: converged after ${result.iterations} iterations (loss ${result.f.toPrecision(6)})`
        : `${STEP}: stopped after ${result.iterations} iterations without converging; raise max_iter or scale the features`,
    );
    const theta = result.x;
    return {
      features: x.names,
      classes: k,
      coef: Array.from({ length: rows }, (_, r) => Array.from(theta.subarray(r * x.d, (r + 1) * x.d))),
      intercept: Array.from(theta.subarray(rows * x.d)),
    };
  },
  predict(frame: Frame, p): ModelOutput {
    const probs = probabilities(featureMatrix(frame, STEP, p.features), p);
    return { values: Float64Array.from(probs, argmax), probabilities: probs };
  },
});
