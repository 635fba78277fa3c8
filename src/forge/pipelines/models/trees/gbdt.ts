/**
 * Histogram gradient boosting: bins once, then each round fits one tree per output to the loss's
 * gradients and adds its shrunken leaf values to the raw scores. Training rows' scores are updated
 * from the leaves' row ranges (no tree walk); held-out rows for early stopping walk the binned tree.
 */
import { createRng } from '../../random.js';
import type { FitContext } from '../../types.js';
import { applyBins, fitBins } from './binning.js';
import { TreeGrower } from './grower.js';
import { holdout } from './holdout.js';
import { type LossName, lossFor } from './losses.js';
import { accumulateBinned, type TreeJson, toTreeJson } from './tree.js';

export interface GbdtOptions {
  loss: LossName;
  /** Classes for log loss (2 = binary). */
  nClasses: number;
  nEstimators: number;
  learningRate: number;
  maxDepth: number | null;
  maxLeafNodes: number | null;
  minSamplesLeaf: number;
  l2: number;
  maxBins: number;
  leafwise: boolean;
  earlyStopping: boolean;
  validationFraction: number;
  nIterNoChange: number;
  tol: number;
  /** Per-row weights (class weights), or null. */
  weights: Float64Array | null;
}

export interface GbdtModel {
  /** Raw score before any tree, per output. */
  baseline: number[];
  /** Round-major: tree `r * dim + k` is round r's tree for output k. */
  trees: TreeJson[];
  dim: number;
  /** Rounds kept (early stopping keeps those up to the best validation loss). */
  rounds: number;
  stoppedEarly: boolean;
}

/** Yield to the event loop at least this often so an abort (or a parent's message) is seen. */
const YIELD_MS = 20;

export async function fitGbdt(
  columns: readonly Float64Array[],
  y: Float64Array,
  opts: GbdtOptions,
  ctx: FitContext,
): Promise<GbdtModel> {
  const r = createRng(ctx.seed);
  const n = y.length;
  const loss = lossFor(opts.loss, opts.nClasses);
  const dim = loss.dim;
  const classification = opts.loss === 'log_loss';

  let trainRows: Uint32Array | null = null;
  let valRows: Uint32Array | null = null;
  if (opts.earlyStopping) {
    const split = holdout(n, opts.validationFraction, r, classification ? y : undefined);
    if (split.validation.length > 0 && split.train.length > 0) {
      trainRows = split.train;
      valRows = split.validation;
    }
  }
  const take = (a: Float64Array, rows: Uint32Array | null) => (rows ? gather(a, rows) : a);
  const trainCols = columns.map((c) => take(c, trainRows));
  const yTrain = take(y, trainRows);
  const wTrain = opts.weights ? take(opts.weights, trainRows) : null;
  const nTrain = yTrain.length;

  const bins = fitBins(trainCols, nTrain, opts.maxBins, r);
  const data = applyBins(bins, trainCols, nTrain);
  const val = valRows
    ? {
        binned: applyBins(
          bins,
          columns.map((c) => gather(c, valRows)),
          valRows.length,
        ).binned,
        y: gather(y, valRows),
        w: opts.weights ? gather(opts.weights, valRows) : null,
        n: valRows.length,
      }
    : null;

  const baseline = loss.baseline(yTrain, wTrain);
  const raw = new Float64Array(nTrain * dim);
  const rawVal = new Float64Array((val?.n ?? 0) * dim);
  for (let k = 0; k < dim; k++) {
    raw.fill(baseline[k]!, k * nTrain, (k + 1) * nTrain);
    if (val) rawVal.fill(baseline[k]!, k * val.n, (k + 1) * val.n);
  }
  const gh = new Float64Array(2 * nTrain * dim);
  const all = Uint32Array.from({ length: nTrain }, (_, i) => i);
  const grower = new TreeGrower(
    data,
    1,
    nTrain,
    {
      maxLeafNodes: opts.maxLeafNodes,
      maxDepth: opts.maxDepth,
      minSamplesLeaf: opts.minSamplesLeaf,
      l2: opts.l2,
      // Children with less curvature than this give unstable leaf values; scikit-learn's bound.
      minHessian: 1e-3,
      leafwise: opts.leafwise,
      featuresPerSplit: null,
    },
    null,
  );

  const trees: TreeJson[] = [];
  const valLosses: number[] = [];
  if (val) valLosses.push(loss.value(val.y, val.w, rawVal));
  let best = 0;
  let stoppedEarly = false;
  let lastYield = performance.now();
  for (let round = 0; round < opts.nEstimators; round++) {
    // The loss at the scores so far: round `round`'s training loss, reported one round late.
    const trainLoss = loss.gradients(yTrain, wTrain, raw, gh);
    if (round > 0) ctx.metric('train_loss', trainLoss, round);
    for (let k = 0; k < dim; k++) {
      ctx.signal.throwIfAborted();
      const tree = grower.grow(all, gh.subarray(2 * k * nTrain, 2 * (k + 1) * nTrain));
      const lr = opts.learningRate;
      const idx = grower.indices;
      const off = k * nTrain;
      for (const leaf of tree.leaves) {
        const v = tree.value[leaf.node]! * lr;
        for (let i = leaf.start; i < leaf.end; i++) raw[off + idx[i]!]! += v;
      }
      if (val) accumulateBinned(tree, val.binned, data.nf, data.missingBin, val.n, rawVal, 1, k * val.n, lr);
      trees.push(toTreeJson(tree, bins, 1, lr));
    }
    if (val) {
      const v = loss.value(val.y, val.w, rawVal);
      valLosses.push(v);
      ctx.metric('validation_loss', v, round + 1);
      if (v < valLosses[best]!) best = round + 1;
      if (shouldStop(valLosses, opts.nIterNoChange, opts.tol)) {
        stoppedEarly = true;
        break;
      }
    }
    ctx.progress((round + 1) / opts.nEstimators);
    if (performance.now() - lastYield > YIELD_MS) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      lastYield = performance.now();
    }
  }
  const done = trees.length / dim;
  if (done > 0) ctx.metric('train_loss', loss.value(yTrain, wTrain, raw), done);
  const rounds = val ? best : done;
  if (stoppedEarly) ctx.log(`early stopping after ${valLosses.length - 1} rounds; kept ${rounds}`);
  return { baseline, trees: trees.slice(0, rounds * dim), dim, rounds, stoppedEarly };
}

/**
 * scikit-learn's rule: stop when none of the last `n` rounds beat, by more than `tol`, the loss
 * `n` rounds before them. `losses[0]` is the loss before the first tree.
 */
export function shouldStop(losses: readonly number[], n: number, tol: number): boolean {
  if (losses.length <= n) return false;
  const reference = losses[losses.length - 1 - n]!;
  for (let i = losses.length - n; i < losses.length; i++) if (losses[i]! < reference - tol) return false;
  return true;
}

function gather(a: Float64Array, rows: Uint32Array): Float64Array {
  const out = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++) out[i] = a[rows[i]!]!;
  return out;
}
