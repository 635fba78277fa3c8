/**
 * Boosting losses over raw scores: gradients and hessians per output, the loss value for metrics and
 * early stopping, and the constant score the first tree starts from. Scores are class-major for the
 * multiclass loss (`raw[k * n + i]`); gradients too, each row's gradient followed by its hessian
 * (`gh[2 * (k * n + i)]`, `+ 1`), the layout a tree grower reads.
 */

export type LossName = 'squared_error' | 'log_loss';

export interface Loss {
  /** Raw-score outputs per row: 1, or the number of classes for multiclass log loss. */
  dim: number;
  baseline(y: Float64Array, w: Float64Array | null): number[];
  /**
   * Fills gh (2 × dim × n) at `raw` and returns the loss there: one pass serves both the next tree
   * and the per-round metric.
   */
  gradients(y: Float64Array, w: Float64Array | null, raw: Float64Array, gh: Float64Array): number;
  /** Weighted mean loss. */
  value(y: Float64Array, w: Float64Array | null, raw: Float64Array): number;
}

const softplus = (r: number) => (r > 0 ? r + Math.log1p(Math.exp(-r)) : Math.log1p(Math.exp(r)));

function weightSum(w: Float64Array | null, n: number): number {
  if (!w) return n;
  let s = 0;
  for (let i = 0; i < n; i++) s += w[i]!;
  return s;
}

export const squaredError: Loss = {
  dim: 1,
  baseline(y, w) {
    let s = 0;
    for (let i = 0; i < y.length; i++) s += y[i]! * (w ? w[i]! : 1);
    return [s / weightSum(w, y.length)];
  },
  gradients(y, w, raw, gh) {
    let s = 0;
    for (let i = 0; i < y.length; i++) {
      const wi = w ? w[i]! : 1;
      const d = raw[i]! - y[i]!;
      gh[2 * i] = d * wi;
      gh[2 * i + 1] = wi;
      s += d * d * wi;
    }
    return s / weightSum(w, y.length);
  },
  value(y, w, raw) {
    let s = 0;
    for (let i = 0; i < y.length; i++) s += (y[i]! - raw[i]!) ** 2 * (w ? w[i]! : 1);
    return s / weightSum(w, y.length);
  },
};

/** Hessians below this make a leaf value explode; the same floor scikit-learn uses. */
const MIN_HESSIAN = 1e-16;

export const binaryLogLoss: Loss = {
  dim: 1,
  baseline(y, w) {
    let s = 0;
    for (let i = 0; i < y.length; i++) s += y[i]! * (w ? w[i]! : 1);
    const p = Math.min(Math.max(s / weightSum(w, y.length), 1e-12), 1 - 1e-12);
    return [Math.log(p / (1 - p))];
  },
  gradients(y, w, raw, gh) {
    let s = 0;
    for (let i = 0; i < y.length; i++) {
      const wi = w ? w[i]! : 1;
      const r = raw[i]!;
      const yi = y[i]!;
      // e = exp(-|r|) never overflows; p and the loss both follow from it.
      const e = Math.exp(-Math.abs(r));
      const p = r >= 0 ? 1 / (1 + e) : e / (1 + e);
      gh[2 * i] = (p - yi) * wi;
      gh[2 * i + 1] = Math.max(p * (1 - p), MIN_HESSIAN) * wi;
      // log(1 + e) with e ≤ 1 loses nothing that matters to a metric and is cheaper than log1p.
      s += (Math.log(1 + e) + Math.max(r, 0) - yi * r) * wi;
    }
    return s / weightSum(w, y.length);
  },
  value(y, w, raw) {
    let s = 0;
    for (let i = 0; i < y.length; i++) s += (softplus(raw[i]!) - y[i]! * raw[i]!) * (w ? w[i]! : 1);
    return s / weightSum(w, y.length);
  },
};

export function multiclassLogLoss(k: number): Loss {
  return {
    dim: k,
    baseline(y, w) {
      const counts = new Float64Array(k);
      for (let i = 0; i < y.length; i++) counts[y[i]!]! += w ? w[i]! : 1;
      const total = weightSum(w, y.length);
      return Array.from(counts, (c) => Math.log(Math.max(c / total, 1e-12)));
    },
    gradients(y, w, raw, gh) {
      const n = y.length;
      let s = 0;
      for (let i = 0; i < n; i++) {
        let max = Number.NEGATIVE_INFINITY;
        for (let c = 0; c < k; c++) max = Math.max(max, raw[c * n + i]!);
        let sum = 0;
        for (let c = 0; c < k; c++) {
          const e = Math.exp(raw[c * n + i]! - max);
          gh[2 * (c * n + i)] = e;
          sum += e;
        }
        const wi = w ? w[i]! : 1;
        const yi = y[i]!;
        for (let c = 0; c < k; c++) {
          const j = 2 * (c * n + i);
          const p = gh[j]! / sum;
          gh[j] = (p - (c === yi ? 1 : 0)) * wi;
          gh[j + 1] = Math.max(p * (1 - p), MIN_HESSIAN) * wi;
        }
        s += (max + Math.log(sum) - raw[yi * n + i]!) * wi;
      }
      return s / weightSum(w, n);
    },
    value(y, w, raw) {
      const n = y.length;
      let s = 0;
      for (let i = 0; i < n; i++) {
        let max = Number.NEGATIVE_INFINITY;
        for (let c = 0; c < k; c++) max = Math.max(max, raw[c * n + i]!);
        let sum = 0;
        for (let c = 0; c < k; c++) sum += Math.exp(raw[c * n + i]! - max);
        s += (max + Math.log(sum) - raw[y[i]! * n + i]!) * (w ? w[i]! : 1);
      }
      return s / weightSum(w, n);
    },
  };
}

export function lossFor(name: LossName, nClasses: number): Loss {
  if (name === 'squared_error') return squaredError;
  return nClasses > 2 ? multiclassLogLoss(nClasses) : binaryLogLoss;
}
