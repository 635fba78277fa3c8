/**
 * Seeded synthetic tables for the model steps' tests and benchmarks: nonlinear enough that trees
 * and networks beat a linear model, with known structure so a score threshold means something.
 */
import type { Column, Frame } from '../../../frame/frame.js';
import { createRng, type Rng } from '../../random.js';
import type { FitContext } from '../../types.js';

export interface Synthetic {
  frame: Frame;
  /** Class index (0/1) or number per row. */
  y: Float64Array;
}

function gaussian(r: Rng): number {
  const u = 1 - r.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r.next());
}

function features(n: number, nf: number, r: Rng): Float64Array[] {
  const cols = Array.from({ length: nf }, () => new Float64Array(n));
  for (let i = 0; i < n; i++) for (const c of cols) c[i] = gaussian(r);
  return cols;
}

const frameOf = (cols: Float64Array[]): Frame => ({
  length: cols[0]?.length ?? 0,
  columns: cols.map((values, j) => ({ name: `x${j}`, type: 'numeric', values })),
});

/**
 * Binary labels from a score built of a sine, an interaction, a square and a step on the first six
 * features (the rest are noise), flipped by Gaussian noise of scale `noise` on the score.
 */
export function nonlinearClassification(opts: {
  n: number;
  features?: number;
  seed: number;
  noise?: number;
}) {
  const nf = Math.max(opts.features ?? 10, 6);
  const r = createRng(opts.seed);
  const x = features(opts.n, nf, r);
  const y = new Float64Array(opts.n);
  const noise = opts.noise ?? 0;
  for (let i = 0; i < opts.n; i++) {
    const [a, b, c, d, e, f] = x.map((col) => col[i]!) as [number, number, number, number, number, number];
    const score = 1.5 * Math.sin(2 * a) + b * c + (d * d - 1) + 0.5 * e - (f > 0.5 ? 1 : 0) + 0.3;
    y[i] = score + noise * gaussian(r) > 0 ? 1 : 0;
  }
  return { frame: frameOf(x), y } satisfies Synthetic;
}

/** A smooth target: a sine, a square and an interaction, plus Gaussian noise of scale `noise`. */
export function smoothRegression(opts: { n: number; features?: number; seed: number; noise?: number }) {
  const nf = Math.max(opts.features ?? 10, 5);
  const r = createRng(opts.seed);
  const x = features(opts.n, nf, r);
  const y = new Float64Array(opts.n);
  const noise = opts.noise ?? 0;
  for (let i = 0; i < opts.n; i++) {
    const [a, b, c, d, e] = x.map((col) => col[i]!) as [number, number, number, number, number];
    y[i] = 3 * Math.sin(a) + b * b + 2 * c * d + e + noise * gaussian(r);
  }
  return { frame: frameOf(x), y } satisfies Synthetic;
}

/** A fit context that records what a step reports; `abortAt` aborts when progress reaches it. */
export function recordingContext(seed = 0, abortAt?: number) {
  const controller = new AbortController();
  const progress: number[] = [];
  const metrics: { name: string; value: number; step: number }[] = [];
  const logs: string[] = [];
  const ctx: FitContext = {
    seed,
    signal: controller.signal,
    progress(f) {
      progress.push(f);
      if (abortAt !== undefined && f >= abortAt) controller.abort();
    },
    metric: (name, value, step) => metrics.push({ name, value, step }),
    log: (m) => logs.push(m),
  };
  return { ctx, controller, progress, metrics, logs };
}

/** The first `n` rows and the rest, as two tables. */
export function splitAt(s: Synthetic, n: number): [Synthetic, Synthetic] {
  const part = (from: number, to: number): Synthetic => ({
    frame: {
      length: to - from,
      columns: s.frame.columns.map(
        (c) => ({ ...c, values: (c.values as Float64Array).slice(from, to) }) as Column,
      ),
    },
    y: s.y.slice(from, to),
  });
  return [part(0, n), part(n, s.y.length)];
}
