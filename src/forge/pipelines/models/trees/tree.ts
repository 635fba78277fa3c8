/**
 * Trees as stored in params and as run at predict time. Stored: parallel arrays per tree, node 0 the
 * root, thresholds on raw values (`x <= threshold` goes left, NaN follows `missing_left`), so serving
 * needs no bin edges. Run: every tree of a model packed into one set of typed arrays.
 */
import { z } from 'zod';
import type { BinMapper } from './binning.js';
import type { GrownTree } from './grower.js';

export interface TreeJson {
  /** Feature index, −1 at a leaf. */
  feature: number[];
  /** null: every present value goes left (the split only separates missing values). */
  threshold: (number | null)[];
  missing_left: (0 | 1)[];
  left: number[];
  right: number[];
  /** `dim` values per node (boosting 1, forest classifiers one per class); internal nodes hold 0. */
  value: number[];
}

export const treeJsonSchema = z.object({
  feature: z.array(z.number().int().min(-1)),
  threshold: z.array(z.number().nullable()),
  missing_left: z.array(z.union([z.literal(0), z.literal(1)])),
  left: z.array(z.number().int().min(-1)),
  right: z.array(z.number().int().min(-1)),
  value: z.array(z.number()),
});

/**
 * Why a stored tree cannot be run, or null. Children come after their parent (growth order), which
 * rules out cycles, so a damaged file cannot hang prediction.
 */
export function treeProblem(t: TreeJson, nFeatures: number, dim: number): string | null {
  const n = t.feature.length;
  if (n === 0) return 'a tree has no nodes';
  if (
    [t.threshold, t.missing_left, t.left, t.right].some((a) => a.length !== n) ||
    t.value.length !== n * dim
  )
    return 'tree arrays differ in length';
  for (let i = 0; i < n; i++) {
    const f = t.feature[i]!;
    const l = t.left[i]!;
    const r = t.right[i]!;
    if (f === -1) {
      if (l !== -1 || r !== -1) return `leaf ${i} has children`;
    } else if (f >= nFeatures) return `node ${i} uses feature ${f} of ${nFeatures}`;
    else if (l <= i || r <= i || l >= n || r >= n) return `node ${i} has children out of order`;
  }
  return null;
}

/** A grown tree in stored form, its leaf values multiplied by `scale` (boosting's learning rate). */
export function toTreeJson(g: GrownTree, bins: BinMapper, dim: number, scale: number): TreeJson {
  const n = g.feature.length;
  const t: TreeJson = {
    feature: g.feature.slice(),
    threshold: [],
    missing_left: [],
    left: [],
    right: [],
    value: [],
  };
  for (let i = 0; i < n; i++) {
    const f = g.feature[i]!;
    const leaf = f === -1;
    const edges = leaf ? undefined : bins.thresholds[f]!;
    const b = g.bin[i]!;
    t.threshold.push(leaf ? 0 : b < edges!.length ? edges![b]! : null);
    t.missing_left.push(!leaf && g.missingLeft[i] ? 1 : 0);
    t.left.push(g.left[i]!);
    t.right.push(g.right[i]!);
    for (let c = 0; c < dim; c++) t.value.push(leaf ? g.value[i * dim + c]! * scale : 0);
  }
  return t;
}

/** All trees of a model in flat typed arrays; node ids are global, `roots[t]` is tree t's root. */
export interface PackedTrees {
  feature: Int32Array;
  threshold: Float64Array;
  missingLeft: Uint8Array;
  left: Int32Array;
  right: Int32Array;
  value: Float64Array;
  roots: Int32Array;
  dim: number;
}

export function packTrees(trees: readonly TreeJson[], dim: number): PackedTrees {
  const total = trees.reduce((a, t) => a + t.feature.length, 0);
  const p: PackedTrees = {
    feature: new Int32Array(total),
    threshold: new Float64Array(total),
    missingLeft: new Uint8Array(total),
    left: new Int32Array(total),
    right: new Int32Array(total),
    value: new Float64Array(total * dim),
    roots: new Int32Array(trees.length),
    dim,
  };
  let at = 0;
  trees.forEach((t, k) => {
    p.roots[k] = at;
    for (let i = 0; i < t.feature.length; i++) {
      const j = at + i;
      p.feature[j] = t.feature[i]!;
      const thr = t.threshold[i];
      p.threshold[j] = thr === null || thr === undefined ? Number.POSITIVE_INFINITY : thr;
      p.missingLeft[j] = t.missing_left[i]!;
      p.left[j] = t.left[i]! < 0 ? -1 : at + t.left[i]!;
      p.right[j] = t.right[i]! < 0 ? -1 : at + t.right[i]!;
    }
    p.value.set(t.value, at * dim);
    at += t.feature.length;
  });
  return p;
}

/**
 * Adds each tree's leaf values into `out` (`stride` numbers per row): tree t's `dim` values go to
 * offset `offsetOf[t]` of the row.
 */
export function accumulate(
  p: PackedTrees,
  columns: readonly Float64Array[],
  n: number,
  out: Float64Array,
  stride: number,
  offsetOf: (t: number) => number,
): void {
  const { feature, threshold, missingLeft, left, right, value, dim } = p;
  for (let t = 0; t < p.roots.length; t++) {
    const root = p.roots[t]!;
    const off = offsetOf(t);
    // Tree by tree keeps one tree's nodes in cache for every row.
    for (let i = 0; i < n; i++) {
      let node = root;
      let l = left[node]!;
      while (l >= 0) {
        const x = columns[feature[node]!]![i]!;
        node = x <= threshold[node]! ? l : Number.isNaN(x) && missingLeft[node] === 1 ? l : right[node]!;
        l = left[node]!;
      }
      const o = i * stride + off;
      const v = node * dim;
      for (let c = 0; c < dim; c++) out[o + c]! += value[v + c]!;
    }
  }
}

/** Like `accumulate` for one grown tree over binned rows (validation scoring during training). */
export function accumulateBinned(
  g: GrownTree,
  binned: Uint8Array,
  nf: number,
  missingBin: number,
  n: number,
  out: Float64Array,
  stride: number,
  off: number,
  scale: number,
): void {
  const { feature, bin, missingLeft, left, right, value } = g;
  for (let i = 0; i < n; i++) {
    let node = 0;
    while (left[node]! >= 0) {
      const b = binned[i * nf + feature[node]!]!;
      node = (b === missingBin ? missingLeft[node] : b <= bin[node]!) ? left[node]! : right[node]!;
    }
    out[i * stride + off]! += value[node]! * scale;
  }
}
