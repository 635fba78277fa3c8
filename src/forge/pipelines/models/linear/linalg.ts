import { StepError } from '../../errors.js';

/**
 * Dense linear algebra for the linear models: small d×d systems (one row and column per feature),
 * so plain loops over row-major Float64Arrays are enough.
 */

/**
 * Solves A x = b for a symmetric positive-definite A (d×d, row-major) by Cholesky. A matrix that is
 * only semi-definite (collinear features) gets a growing ridge on its diagonal until it factors, so
 * the answer is the minimum-norm-leaning solution instead of an error.
 */
export function solveSpd(a: Float64Array, b: Float64Array, d: number): Float64Array {
  if (!a.every(Number.isFinite) || !b.every(Number.isFinite)) throw overflow();
  let trace = 0;
  for (let i = 0; i < d; i++) trace += a[i * d + i] as number;
  const base = Math.max(trace / d, 1e-300);
  for (let jitter = 0, attempt = 0; attempt < 20; attempt++, jitter = base * 1e-12 * 10 ** attempt) {
    const l = cholesky(a, d, jitter);
    if (l) return substitute(l, b, d);
  }
  // A finite matrix factors once the ridge dominates it; this is for sums that lost all precision.
  throw overflow();
}

const overflow = () =>
  new StepError(
    'numeric_overflow',
    'the features are too large to fit (the normal equations overflowed); scale them first, e.g. with standard_scaler',
  );

/** Lower-triangular L with L Lᵀ = A + jitter·I, or undefined when a pivot is not positive. */
function cholesky(a: Float64Array, d: number, jitter: number): Float64Array | undefined {
  const l = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let s = (a[i * d + j] as number) + (i === j ? jitter : 0);
      for (let k = 0; k < j; k++) s -= (l[i * d + k] as number) * (l[j * d + k] as number);
      if (i === j) {
        if (!(s > 0)) return undefined;
        l[i * d + i] = Math.sqrt(s);
      } else {
        l[i * d + j] = s / (l[j * d + j] as number);
      }
    }
  }
  return l;
}

function substitute(l: Float64Array, b: Float64Array, d: number): Float64Array {
  const y = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    let s = b[i] as number;
    for (let k = 0; k < i; k++) s -= (l[i * d + k] as number) * (y[k] as number);
    y[i] = s / (l[i * d + i] as number);
  }
  const x = new Float64Array(d);
  for (let i = d - 1; i >= 0; i--) {
    let s = y[i] as number;
    for (let k = i + 1; k < d; k++) s -= (l[k * d + i] as number) * (x[k] as number);
    x[i] = s / (l[i * d + i] as number);
  }
  return x;
}
