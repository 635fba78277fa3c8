/**
 * Feature binning for histogram trees: each numeric feature is cut at quantile thresholds learned on
 * the training rows, so a split search scans at most `maxBins` candidates instead of every distinct
 * value. Missing values (NaN) get a bin of their own, the last one, and each split learns which side
 * they take.
 */
import type { Rng } from '../../random.js';
import type { BinnedData } from './histogram.js';

/** Rows sampled to place the thresholds; quantiles of 200k rows are as good as of all of them. */
const BINNING_SUBSAMPLE = 200_000;

export interface BinMapper {
  /** Per feature, ascending thresholds: bin b holds values in (t[b-1], t[b]]; the last bin is open. */
  thresholds: Float64Array[];
  /** Index of the missing-value bin, the same for every feature (= maxBins). */
  missingBin: number;
  /** Histogram stride per feature: every bin index plus the missing bin. */
  stride: number;
}

export function fitBins(columns: readonly Float64Array[], n: number, maxBins: number, r: Rng): BinMapper {
  let rows: Uint32Array | undefined;
  if (n > BINNING_SUBSAMPLE) {
    // A partial Fisher–Yates draws the sample without replacement.
    const all = new Uint32Array(n);
    for (let i = 0; i < n; i++) all[i] = i;
    for (let i = 0; i < BINNING_SUBSAMPLE; i++) {
      const j = i + r.int(n - i);
      const t = all[i]!;
      all[i] = all[j]!;
      all[j] = t;
    }
    rows = all.subarray(0, BINNING_SUBSAMPLE);
  }
  const thresholds = columns.map((col) => featureThresholds(col, rows, n, maxBins));
  return { thresholds, missingBin: maxBins, stride: maxBins + 1 };
}

/** Halfway between two values without overflowing near ±Number.MAX_VALUE. */
const midpoint = (a: number, b: number) => a / 2 + b / 2;

function featureThresholds(
  col: Float64Array,
  rows: Uint32Array | undefined,
  n: number,
  maxBins: number,
): Float64Array {
  const m = rows ? rows.length : n;
  const values = new Float64Array(m);
  let k = 0;
  for (let i = 0; i < m; i++) {
    const v = rows ? col[rows[i]!]! : col[i]!;
    if (!Number.isNaN(v)) values[k++] = v;
  }
  const out: number[] = [];
  // Few distinct values: one bin each, cut halfway between neighbours. The set stops growing as soon
  // as there are too many, so a continuous feature costs a few hundred insertions here.
  const distinct = new Set<number>();
  for (let i = 0; i < k && distinct.size <= maxBins; i++) distinct.add(values[i]!);
  if (distinct.size <= maxBins) {
    const d = Float64Array.from(distinct).sort();
    for (let i = 1; i < d.length; i++) {
      const t = midpoint(d[i - 1]!, d[i]!);
      if (out.length === 0 || t > out[out.length - 1]!) out.push(t);
    }
  } else {
    const sorted = values.subarray(0, k).sort();
    for (let b = 1; b < maxBins; b++) {
      const pos = (b / maxBins) * (k - 1);
      const lo = Math.floor(pos);
      const t = midpoint(sorted[lo]!, sorted[Math.min(lo + 1, k - 1)]!);
      if (out.length === 0 || t > out[out.length - 1]!) out.push(t);
    }
  }
  // +Infinity belongs to the last bin, so a threshold of +Infinity would only make an empty bin.
  while (out.length && out[out.length - 1] === Number.POSITIVE_INFINITY) out.pop();
  return Float64Array.from(out);
}

/**
 * The binned rows in both layouts: by column for boosting's histograms and for partitioning (each
 * reads a few features of many rows), by row for the forest's per-split feature draws.
 */
export function applyBins(m: BinMapper, columns: readonly Float64Array[], n: number): BinnedData {
  const nf = columns.length;
  const byColumn = new Uint8Array(n * nf);
  for (let f = 0; f < nf; f++)
    binColumn(columns[f]!, m.thresholds[f]!, m.missingBin, byColumn.subarray(f * n));
  const binned = new Uint8Array(n * nf);
  for (let f = 0; f < nf; f++) {
    const off = f * n;
    for (let i = 0; i < n; i++) binned[i * nf + f] = byColumn[off + i]!;
  }
  return {
    binned,
    byColumn,
    n,
    nf,
    nBins: Uint16Array.from(m.thresholds, (t) => t.length + 1),
    missingBin: m.missingBin,
    binStride: m.stride,
  };
}

/** Cells of the lookup grid over a feature's threshold range. */
const GRID = 1024;

/**
 * Bins of one column. A uniform grid over the thresholds' range says, for each cell, which bins a
 * value in it can have, so most values need a comparison or two instead of a full binary search.
 */
function binColumn(col: Float64Array, t: Float64Array, missingBin: number, out: Uint8Array): void {
  const nt = t.length;
  const lowest = nt ? t[0]! : 0;
  const highest = nt ? t[nt - 1]! : 0;
  const span = highest - lowest;
  const scale = span > 0 && Number.isFinite(span) ? GRID / span : 0;
  // first[c]: number of thresholds below cell c's lower edge.
  const first = new Int32Array(GRID + 2);
  if (scale > 0) {
    let j = 0;
    for (let c = 0; c <= GRID + 1; c++) {
      const edge = lowest + c / scale;
      while (j < nt && t[j]! < edge) j++;
      first[c] = j;
    }
  }
  for (let i = 0; i < col.length; i++) {
    const v = col[i]!;
    if (Number.isNaN(v)) {
      out[i] = missingBin;
      continue;
    }
    if (v <= lowest) {
      out[i] = 0;
      continue;
    }
    if (v > highest) {
      out[i] = nt;
      continue;
    }
    let lo = 0;
    let hi = nt;
    if (scale > 0) {
      const c = Math.min(Math.floor((v - lowest) * scale), GRID);
      lo = Math.max(first[c]! - 1, 0);
      hi = Math.min(first[c + 1]! + 1, nt);
    }
    // First threshold ≥ v: the same rule `x <= threshold` that prediction uses on raw values.
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (t[mid]! < v) lo = mid + 1;
      else hi = mid;
    }
    // Rounding in the cell arithmetic can miss by a cell; check, and search everything if so.
    if ((lo > 0 && t[lo - 1]! >= v) || (lo < nt && t[lo]! < v)) {
      lo = 0;
      hi = nt;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (t[mid]! < v) lo = mid + 1;
        else hi = mid;
      }
    }
    out[i] = lo;
  }
}
