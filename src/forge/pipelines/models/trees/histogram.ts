/**
 * Gradient histograms and the split search over them. A histogram holds, per feature and bin,
 * `channels` gradient sums, the hessian sum and the row count (stride channels + 2); boosting uses one
 * channel, a multiclass forest one per class. The hot loops are written out for one channel because
 * that is every boosted tree.
 */

/** The binned training data a grower reads. */
export interface BinnedData {
  /** Rows × features, row-major. */
  binned: Uint8Array;
  /** The same, column-major (feature f's bins at f * n). */
  byColumn: Uint8Array;
  n: number;
  nf: number;
  /** Non-missing bins per feature. */
  nBins: Uint16Array;
  missingBin: number;
  /** Bins per feature in a histogram: every bin index plus the missing bin. */
  binStride: number;
}

export interface SplitCandidate {
  gain: number;
  feature: number;
  bin: number;
  missingLeft: boolean;
  /** Left child's sums: `channels` gradients, then hessian, then count. */
  left: Float64Array;
}

export interface SplitLimits {
  minSamplesLeaf: number;
  minHessian: number;
  l2: number;
}

/**
 * Adds rows `indices[start..end)` into `hist` for `features` (all when null); `hist` must be zero
 * there. `gh` holds per row its `channels` gradients then its hessian.
 */
export function buildHistogram(
  d: BinnedData,
  channels: number,
  hist: Float64Array,
  indices: Uint32Array,
  start: number,
  end: number,
  gh: Float64Array,
  features: Int32Array | null,
  nFeatures: number,
): void {
  const { binned, nf } = d;
  const fstride = d.binStride * (channels + 2);
  const s = channels + 2;
  for (let i = start; i < end; i++) {
    const idx = indices[i]!;
    const gbase = idx * (channels + 1);
    const hi = gh[gbase + channels]!;
    const row = idx * nf;
    for (let j = 0; j < nFeatures; j++) {
      const f = features === null ? j : features[j]!;
      const q = f * fstride + binned[row + f]! * s;
      for (let c = 0; c < channels; c++) hist[q + c]! += gh[gbase + c]!;
      hist[q + channels]! += hi;
      hist[q + channels + 1]! += 1;
    }
  }
}

/**
 * Boosting's fast path packs each row's hessian and its count of one into a single number,
 * `h + unit`, where `unit` is a power of two at least twice the tree's total hessian: a bin's sum is
 * then `count * unit + H` with H < unit / 2, and both come back exactly enough (the count exactly;
 * H to about 1e-7 relative, the precision scikit-learn keeps its float32 hessians at). Two memory
 * updates per row and feature instead of three: the histogram loops are bound by those updates.
 * Results land in slots g and h of each entry; `unpackCounts` then splits h into h and count.
 */
export interface Packed {
  /** Per row: gradient, hessian + unit. */
  gh: Float64Array;
  unit: number;
}

/**
 * By columns over `indices[start..end)` (a node's rows, scattered below the root). The rows' packed values are
 * gathered once into `ordered`; then four feature columns at a time (4 × n bytes, small enough to
 * stay in the core's own cache) are read at the rows, one index read serving four updates.
 * Row-major reads would touch the whole table; one column at a time re-reads the indices.
 */
export function buildPackedByColumn(
  d: BinnedData,
  hist: Float64Array,
  indices: Uint32Array,
  start: number,
  end: number,
  p: Packed,
  ordered: Float64Array,
): void {
  const { byColumn, n, nf } = d;
  const gh = p.gh;
  const m = end - start;
  for (let i = 0; i < m; i++) {
    const idx = indices[start + i]!;
    ordered[2 * i] = gh[2 * idx]!;
    ordered[2 * i + 1] = gh[2 * idx + 1]!;
  }
  const fstride = d.binStride * 3;
  let f = 0;
  for (; f + 4 <= nf; f += 4) {
    const c0 = f * n;
    const c1 = c0 + n;
    const c2 = c1 + n;
    const c3 = c2 + n;
    const o0 = f * fstride;
    const o1 = o0 + fstride;
    const o2 = o1 + fstride;
    const o3 = o2 + fstride;
    for (let i = 0; i < m; i++) {
      const idx = indices[start + i]!;
      const g = ordered[2 * i]!;
      const h = ordered[2 * i + 1]!;
      const q0 = o0 + byColumn[c0 + idx]! * 3;
      const q1 = o1 + byColumn[c1 + idx]! * 3;
      const q2 = o2 + byColumn[c2 + idx]! * 3;
      const q3 = o3 + byColumn[c3 + idx]! * 3;
      hist[q0]! += g;
      hist[q0 + 1]! += h;
      hist[q1]! += g;
      hist[q1 + 1]! += h;
      hist[q2]! += g;
      hist[q2 + 1]! += h;
      hist[q3]! += g;
      hist[q3 + 1]! += h;
    }
  }
  for (; f < nf; f++) {
    const off = f * fstride;
    const col = f * n;
    for (let i = 0; i < m; i++) {
      const q = off + byColumn[col + indices[start + i]!]! * 3;
      hist[q]! += ordered[2 * i]!;
      hist[q + 1]! += ordered[2 * i + 1]!;
    }
  }
  unpackCounts(hist, d, p.unit);
}

function unpackCounts(hist: Float64Array, d: BinnedData, unit: number): void {
  const entries = d.nf * d.binStride;
  for (let j = 0; j < entries; j++) {
    const q = 3 * j;
    const packed = hist[q + 1]!;
    if (packed === 0) continue;
    // H < unit / 2, so rounding errors either way cannot move the count.
    const count = Math.floor(packed / unit + 0.25);
    hist[q + 1] = packed - count * unit;
    hist[q + 2] = count;
  }
}

/** `parent -= child`, in place: the sibling's histogram without reading its rows. */
export function subtractHistogram(parent: Float64Array, child: Float64Array): void {
  for (let i = 0; i < parent.length; i++) parent[i]! -= child[i]!;
}

/**
 * Best split of one feature from its histogram entries, kept in `best` if better. Entries are at
 * `base + j * stride` for j < ne, holding bin `binIds[j]` (or j when null); the missing-value entry is
 * at `missingAt`. Two scans: missing values to the right, then (when there are any) to the left.
 * `total` is the node's sums in the same layout. Returns nothing; `best.gain` holds the left+right
 * score, without the parent's term.
 */
export function scanFeature(
  hist: Float64Array,
  base: number,
  ne: number,
  binIds: Uint8Array | null,
  missingAt: number,
  channels: number,
  total: Float64Array,
  f: number,
  lim: SplitLimits,
  best: SplitCandidate,
  tmp: Float64Array,
): void {
  const s = channels + 2;
  const H = total[channels]!;
  const C = total[channels + 1]!;
  const mC = hist[missingAt + channels + 1]!;
  const { minSamplesLeaf: msl, minHessian: minH, l2 } = lim;
  if (channels === 1) {
    const G = total[0]!;
    for (let pass = 0; pass < (mC > 0 ? 2 : 1); pass++) {
      const missLeft = pass === 1;
      let gl = missLeft ? hist[missingAt]! : 0;
      let hl = missLeft ? hist[missingAt + 1]! : 0;
      let cl = missLeft ? mC : 0;
      // With missing values to the right, "every present value left" is a split too.
      const last = missLeft || mC === 0 ? ne - 1 : ne;
      for (let j = 0; j < last; j++) {
        const p = base + j * s;
        gl += hist[p]!;
        hl += hist[p + 1]!;
        cl += hist[p + 2]!;
        if (cl < msl || hl < minH) continue;
        const cr = C - cl;
        const hr = H - hl;
        if (cr < msl || hr < minH) break;
        const gr = G - gl;
        const gain = (gl * gl) / (hl + l2) + (gr * gr) / (hr + l2);
        if (gain > best.gain) {
          best.gain = gain;
          best.feature = f;
          best.bin = binIds ? binIds[j]! : j;
          best.missingLeft = mC > 0 ? missLeft : cl >= cr;
          const left = best.left;
          left[0] = gl;
          left[1] = hl;
          left[2] = cl;
        }
      }
    }
    return;
  }
  for (let pass = 0; pass < (mC > 0 ? 2 : 1); pass++) {
    const missLeft = pass === 1;
    for (let c = 0; c < s; c++) tmp[c] = missLeft ? hist[missingAt + c]! : 0;
    const last = missLeft || mC === 0 ? ne - 1 : ne;
    for (let j = 0; j < last; j++) {
      const p = base + j * s;
      for (let c = 0; c < s; c++) tmp[c]! += hist[p + c]!;
      const hl = tmp[channels]!;
      const cl = tmp[channels + 1]!;
      if (cl < msl || hl < minH) continue;
      const cr = C - cl;
      const hr = H - hl;
      if (cr < msl || hr < minH) break;
      let gain = 0;
      for (let c = 0; c < channels; c++) {
        const gl = tmp[c]!;
        const gr = total[c]! - gl;
        gain += (gl * gl) / (hl + l2) + (gr * gr) / (hr + l2);
      }
      if (gain > best.gain) {
        best.gain = gain;
        best.feature = f;
        best.bin = binIds ? binIds[j]! : j;
        best.missingLeft = mC > 0 ? missLeft : cl >= cr;
        best.left.set(tmp.subarray(0, s));
      }
    }
  }
}

/** The node's own score, the term a split's left+right score must beat. */
export function nodeScore(total: Float64Array, channels: number, l2: number): number {
  const H = total[channels]!;
  let score = 0;
  for (let c = 0; c < channels; c++) score += (total[c]! * total[c]!) / (H + l2);
  return score;
}
