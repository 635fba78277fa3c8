/**
 * Random forests on the boosting grower: a tree fitted to g = −y (one channel per class) with unit
 * hessians and no regularisation has leaf values −G/H = the mean target (class frequencies), and its
 * split gain Σ G²/H is the variance reduction, which for class indicators is the Gini decrease. Each
 * tree sees a bootstrap sample and draws features per split.
 */
import { createRng } from '../../random.js';
import type { FitContext } from '../../types.js';
import { applyBins, fitBins } from './binning.js';
import { TreeGrower } from './grower.js';
import { type TreeJson, toTreeJson } from './tree.js';

export interface ForestOptions {
  /** 0: regression; 2: binary (one channel, the positive class); more: one channel per class. */
  nClasses: number;
  nEstimators: number;
  maxDepth: number | null;
  minSamplesLeaf: number;
  /** Features drawn per split; null: all. */
  featuresPerSplit: number | null;
  bootstrap: boolean;
  maxBins: number;
  weights: Float64Array | null;
}

export interface ForestModel {
  trees: TreeJson[];
  /** Values per leaf: 1 (regression, binary probability of class 1) or the number of classes. */
  dim: number;
}

const YIELD_MS = 20;

export async function fitForest(
  columns: readonly Float64Array[],
  y: Float64Array,
  opts: ForestOptions,
  ctx: FitContext,
): Promise<ForestModel> {
  const r = createRng(ctx.seed);
  const n = y.length;
  const bins = fitBins(columns, n, opts.maxBins, r);
  const data = applyBins(bins, columns, n);
  const channels = opts.nClasses > 2 ? opts.nClasses : 1;
  const w = opts.weights;
  // Per row: `channels` gradients then the hessian (see TreeGrower.grow).
  const gh = new Float64Array(n * (channels + 1));
  for (let i = 0; i < n; i++) {
    const wi = w ? w[i]! : 1;
    const base = i * (channels + 1);
    if (channels > 1) gh[base + y[i]!] = -wi;
    else gh[base] = -y[i]! * wi;
    gh[base + channels] = wi;
  }
  const grower = new TreeGrower(
    data,
    channels,
    n,
    {
      maxLeafNodes: null,
      maxDepth: opts.maxDepth,
      minSamplesLeaf: opts.minSamplesLeaf,
      l2: 0,
      minHessian: 0,
      leafwise: false,
      featuresPerSplit: opts.featuresPerSplit,
    },
    r,
  );
  const all = Uint32Array.from({ length: n }, (_, i) => i);
  const trees: TreeJson[] = [];
  let lastYield = performance.now();
  for (let t = 0; t < opts.nEstimators; t++) {
    ctx.signal.throwIfAborted();
    let rows = all;
    if (opts.bootstrap) {
      // Sorted rows keep each node's reads moving forward through memory.
      const counts = new Uint32Array(n);
      for (let i = 0; i < n; i++) counts[r.int(n)]! += 1;
      rows = new Uint32Array(n);
      let k = 0;
      for (let i = 0; i < n; i++) for (let c = counts[i]!; c > 0; c--) rows[k++] = i;
    }
    const tree = grower.grow(rows, gh);
    trees.push(toTreeJson(tree, bins, channels, 1));
    ctx.progress((t + 1) / opts.nEstimators);
    if (performance.now() - lastYield > YIELD_MS) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      lastYield = performance.now();
    }
  }
  return { trees, dim: channels };
}
