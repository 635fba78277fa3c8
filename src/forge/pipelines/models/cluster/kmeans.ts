import { z } from 'zod';
import { StepError } from '../../errors.js';
import { featureMatrix, type Matrix } from '../../matrix.js';
import { createRng, type Rng } from '../../random.js';
import { defineModel } from '../../steps/util.js';

const config = z.strictObject({
  n_clusters: z.number().int().min(1).max(1000).default(8),
  n_init: z
    .number()
    .int()
    .min(1)
    .max(100)
    .default(1)
    .describe(
      'Runs from different seeds; the one with the lowest inertia is kept (one suffices with k-means++, as scikit-learn now defaults)',
    ),
  max_iter: z.number().int().min(1).max(10_000).default(300),
  tol: z
    .number()
    .min(0)
    .max(1)
    .default(1e-4)
    .describe('Stop when centres move less than this, relative to the mean feature variance'),
});
type Config = z.infer<typeof config>;

const params = z.object({
  features: z.array(z.string()),
  centers: z.array(z.array(z.number())),
  /** Sum of squared distances of the training rows to their centres. */
  inertia: z.number(),
});
type Params = z.infer<typeof params>;

const STEP = 'kmeans';

function sqDist(x: Matrix, i: number, c: Float64Array, k: number): number {
  const d = x.d;
  let s = 0;
  for (let j = 0; j < d; j++) {
    const t = (x.data[i * d + j] as number) - (c[k * d + j] as number);
    s += t * t;
  }
  return s;
}

/**
 * Each row's nearest centre (ties to the lower index) and squared distance to it. The hot loop of
 * k-means, so written flat: locals only, and a centre is abandoned once its partial sum is beaten.
 */
function assign(x: Matrix, centers: Float64Array, k: number, labels: Int32Array, dist: Float64Array): number {
  const { n, d, data } = x;
  let inertia = 0;
  for (let i = 0; i < n; i++) {
    const off = i * d;
    let best = 0;
    let bestD = Number.POSITIVE_INFINITY;
    for (let c = 0; c < k; c++) {
      const co = c * d;
      let s = 0;
      for (let j = 0; j < d && s < bestD; j++) {
        const t = (data[off + j] as number) - (centers[co + j] as number);
        s += t * t;
      }
      if (s < bestD) {
        bestD = s;
        best = c;
      }
    }
    labels[i] = best;
    dist[i] = bestD;
    inertia += bestD;
  }
  return inertia;
}

/** Index whose cumulative weight first passes u·total; weights are the rows' current D². */
function sampleIndex(weights: Float64Array, total: number, r: Rng): number {
  if (!(total > 0)) return r.int(weights.length);
  const u = r.next() * total;
  let acc = 0;
  for (let i = 0; i < weights.length; i++) {
    acc += weights[i] as number;
    if (acc > u) return i;
  }
  return weights.length - 1;
}

/**
 * Greedy k-means++ (as scikit-learn): each new centre is the best of 2 + ln k candidates drawn with
 * probability proportional to the squared distance to the nearest centre so far.
 */
function initCenters(x: Matrix, k: number, r: Rng): Float64Array {
  const { n, d, data } = x;
  const centers = new Float64Array(k * d);
  const first = r.int(n);
  centers.set(data.subarray(first * d, (first + 1) * d), 0);
  const closest = new Float64Array(n);
  let pot = 0;
  for (let i = 0; i < n; i++) pot += closest[i] = sqDist(x, i, centers, 0);
  const trials = 2 + Math.floor(Math.log(k));
  const candidate = new Float64Array(n);
  const bestClosest = new Float64Array(n);
  for (let c = 1; c < k; c++) {
    let bestPot = Number.POSITIVE_INFINITY;
    let bestIndex = 0;
    for (let t = 0; t < trials; t++) {
      const idx = sampleIndex(closest, pot, r);
      const cand = data.subarray(idx * d, (idx + 1) * d);
      let p = 0;
      for (let i = 0; i < n; i++) {
        const dd = Math.min(closest[i] as number, sqDist(x, i, cand, 0));
        candidate[i] = dd;
        p += dd;
      }
      if (p < bestPot) {
        bestPot = p;
        bestIndex = idx;
        bestClosest.set(candidate);
      }
    }
    centers.set(data.subarray(bestIndex * d, (bestIndex + 1) * d), c * d);
    closest.set(bestClosest);
    pot = bestPot;
  }
  return centers;
}

interface Run {
  centers: Float64Array;
  inertia: number;
}

/** Lloyd's iterations from `centers`; an emptied cluster restarts at the row farthest from its centre. */
function lloyd(
  x: Matrix,
  k: number,
  init: Float64Array,
  cfg: Config,
  tolAbs: number,
  onIter: (i: number) => void,
): Run {
  const { n, d, data } = x;
  let centers = init;
  const labels = new Int32Array(n);
  const dist = new Float64Array(n);
  for (let iter = 0; iter < cfg.max_iter; iter++) {
    assign(x, centers, k, labels, dist);
    const next = new Float64Array(k * d);
    const counts = new Float64Array(k);
    for (let i = 0; i < n; i++) {
      const c = labels[i] as number;
      counts[c] = (counts[c] as number) + 1;
      for (let j = 0; j < d; j++) next[c * d + j] = (next[c * d + j] as number) + (data[i * d + j] as number);
    }
    const taken = new Set<number>();
    for (let c = 0; c < k; c++) {
      if (counts[c] === 0) {
        let far = -1;
        for (let i = 0; i < n; i++)
          if (!taken.has(i) && (far < 0 || (dist[i] as number) > (dist[far] as number))) far = i;
        taken.add(far);
        next.set(data.subarray(far * d, (far + 1) * d), c * d);
        continue;
      }
      for (let j = 0; j < d; j++) next[c * d + j] = (next[c * d + j] as number) / (counts[c] as number);
    }
    let shift = 0;
    for (let m = 0; m < next.length; m++) shift += ((next[m] as number) - (centers[m] as number)) ** 2;
    centers = next;
    onIter(iter + 1);
    if (shift <= tolAbs) break;
  }
  return { centers, inertia: assign(x, centers, k, labels, dist) };
}

export const kmeans = defineModel<Config, Params>({
  kind: 'model',
  type: STEP,
  description: 'k-means clustering (k-means++ initialisation, best of n_init runs).',
  tasks: ['clustering'],
  config,
  params,
  fit(frame, _target, cfg, ctx) {
    const x = featureMatrix(frame, STEP);
    const k = cfg.n_clusters;
    if (x.n < k)
      throw new StepError(
        'not_enough_rows',
        `${STEP}: ${k} clusters need at least ${k} training rows, got ${x.n}`,
      );
    // Tolerance relative to the data's spread, so it means the same in any units.
    let meanVar = 0;
    for (let j = 0; j < x.d; j++) {
      let s = 0;
      let ss = 0;
      for (let i = 0; i < x.n; i++) {
        const v = x.data[i * x.d + j] as number;
        s += v;
        ss += v * v;
      }
      meanVar += Math.max(0, ss / x.n - (s / x.n) ** 2);
    }
    const tolAbs = (cfg.tol * meanVar) / x.d;
    const r = createRng(ctx.seed);
    let best: Run | undefined;
    for (let run = 0; run < cfg.n_init; run++) {
      ctx.signal.throwIfAborted();
      const result = lloyd(x, k, initCenters(x, k, r), cfg, tolAbs, (iter) => {
        if (iter % 10 === 0) ctx.signal.throwIfAborted();
        ctx.progress((run + iter / cfg.max_iter) / cfg.n_init);
      });
      ctx.metric('inertia', result.inertia, run + 1);
      if (!best || result.inertia < best.inertia) best = result;
      ctx.progress((run + 1) / cfg.n_init);
    }
    const { centers, inertia } = best as Run;
    return {
      features: x.names,
      centers: Array.from({ length: k }, (_, c) => Array.from(centers.subarray(c * x.d, (c + 1) * x.d))),
      inertia,
    };
  },
  predict(frame, p) {
    const x = featureMatrix(frame, STEP, p.features);
    const k = p.centers.length;
    const centers = Float64Array.from(p.centers.flat());
    const labels = new Int32Array(x.n);
    const distances = new Float64Array(x.n);
    assign(x, centers, k, labels, distances);
    return { values: Float64Array.from(labels), distances };
  },
});
