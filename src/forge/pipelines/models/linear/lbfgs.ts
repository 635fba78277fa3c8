/**
 * Limited-memory BFGS for smooth convex objectives (the logistic loss with an L2 penalty). A
 * backtracking Armijo line search is enough there: with the penalty the objective is strictly
 * convex, so every accepted step keeps sᵀy > 0 and the curvature pairs stay valid.
 */

/** Returns f(x) and writes ∇f(x) into `grad`. */
export type Objective = (x: Float64Array, grad: Float64Array) => number;

export interface LbfgsOptions {
  maxIter: number;
  /** Stop once the largest gradient component is at most this. */
  gradTol: number;
  /** Curvature pairs kept. */
  memory?: number;
  signal?: AbortSignal | undefined;
  onIteration?: (iteration: number, f: number) => void;
}

export interface LbfgsResult {
  x: Float64Array;
  f: number;
  iterations: number;
  converged: boolean;
}

/** Relative decrease below which progress is over: about 4500 × machine epsilon. */
const F_TOL = 1e-12;
const ARMIJO = 1e-4;
const MAX_BACKTRACKS = 50;

const dot = (a: Float64Array, b: Float64Array) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
};
const maxAbs = (a: Float64Array) => {
  let m = 0;
  for (const v of a) m = Math.max(m, Math.abs(v));
  return m;
};

export function minimizeLbfgs(fn: Objective, x0: Float64Array, opts: LbfgsOptions): LbfgsResult {
  const m = opts.memory ?? 10;
  const dim = x0.length;
  let x = Float64Array.from(x0);
  let g = new Float64Array(dim);
  let f = fn(x, g);
  const ss: Float64Array[] = [];
  const ys: Float64Array[] = [];
  const rhos: number[] = [];
  const dir = new Float64Array(dim);
  const alpha = new Float64Array(m);
  let xNew = new Float64Array(dim);
  let gNew = new Float64Array(dim);

  for (let iter = 1; iter <= opts.maxIter; iter++) {
    opts.signal?.throwIfAborted();
    if (maxAbs(g) <= opts.gradTol) return { x, f, iterations: iter - 1, converged: true };

    // Two-loop recursion: dir = -H g.
    for (let i = 0; i < dim; i++) dir[i] = -(g[i] as number);
    for (let k = ss.length - 1; k >= 0; k--) {
      const a = (rhos[k] as number) * dot(ss[k] as Float64Array, dir);
      alpha[k] = a;
      const y = ys[k] as Float64Array;
      for (let i = 0; i < dim; i++) dir[i] = (dir[i] as number) - a * (y[i] as number);
    }
    if (ss.length) {
      const s = ss.at(-1) as Float64Array;
      const y = ys.at(-1) as Float64Array;
      const gamma = dot(s, y) / dot(y, y);
      for (let i = 0; i < dim; i++) dir[i] = (dir[i] as number) * gamma;
    } else {
      // First step: unit length along the gradient, as there is no curvature yet to scale by.
      const norm = Math.sqrt(dot(g, g));
      for (let i = 0; i < dim; i++) dir[i] = (dir[i] as number) / Math.max(norm, 1);
    }
    for (let k = 0; k < ss.length; k++) {
      const b = (rhos[k] as number) * dot(ys[k] as Float64Array, dir);
      const s = ss[k] as Float64Array;
      for (let i = 0; i < dim; i++)
        dir[i] = (dir[i] as number) + ((alpha[k] as number) - b) * (s[i] as number);
    }

    let slope = dot(g, dir);
    if (!(slope < 0)) {
      // Not a descent direction (numerical trouble): forget the history and go downhill.
      ss.length = ys.length = rhos.length = 0;
      for (let i = 0; i < dim; i++) dir[i] = -(g[i] as number);
      slope = dot(g, dir);
    }
    let t = 1;
    let fNew = Number.POSITIVE_INFINITY;
    for (let k = 0; k < MAX_BACKTRACKS; k++) {
      for (let i = 0; i < dim; i++) xNew[i] = (x[i] as number) + t * (dir[i] as number);
      fNew = fn(xNew, gNew);
      if (fNew <= f + ARMIJO * t * slope) break;
      t /= 2;
    }
    if (!(fNew <= f)) return { x, f, iterations: iter, converged: false };

    const s = new Float64Array(dim);
    const y = new Float64Array(dim);
    for (let i = 0; i < dim; i++) {
      s[i] = (xNew[i] as number) - (x[i] as number);
      y[i] = (gNew[i] as number) - (g[i] as number);
    }
    const sy = dot(s, y);
    if (sy > 1e-12 * Math.sqrt(dot(s, s) * dot(y, y))) {
      if (ss.length === m) {
        ss.shift();
        ys.shift();
        rhos.shift();
      }
      ss.push(s);
      ys.push(y);
      rhos.push(1 / sy);
    }
    const fOld = f;
    [x, xNew] = [xNew, x];
    [g, gNew] = [gNew, g];
    f = fNew;
    opts.onIteration?.(iter, f);
    // f no longer decreases measurably: the optimum is reached to floating-point accuracy.
    if (fOld - f <= F_TOL * Math.max(Math.abs(fOld), Math.abs(f), 1))
      return { x, f, iterations: iter, converged: true };
  }
  return { x, f, iterations: opts.maxIter, converged: maxAbs(g) <= opts.gradTol };
}
