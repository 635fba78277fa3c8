/**
 * Grows one histogram tree over binned rows. Each node owns a contiguous range of an index array
 * that splits partition in place, so a node's rows are found without a scan. With all features in
 * play a child's histogram comes from its parent minus its smaller sibling (only the smaller one is
 * built from rows); a forest drawing features per split builds each node's own instead.
 */
import type { Rng } from '../../random.js';
import {
  type BinnedData,
  buildHistogram,
  buildPackedByColumn,
  nodeScore,
  type Packed,
  type SplitCandidate,
  type SplitLimits,
  scanFeature,
  subtractHistogram,
} from './histogram.js';

export interface GrowOptions extends SplitLimits {
  /** null: no limit. */
  maxLeafNodes: number | null;
  /** null: no limit. The root is depth 0. */
  maxDepth: number | null;
  /** Best-first (largest gain next) rather than level by level; only matters under maxLeafNodes. */
  leafwise: boolean;
  /** Features drawn at random for each split (forests); null: all. */
  featuresPerSplit: number | null;
}

/** A grown tree in growth order; leaves have feature −1. Bins, not thresholds: see tree.ts. */
export interface GrownTree {
  feature: number[];
  bin: number[];
  missingLeft: boolean[];
  left: number[];
  right: number[];
  /** `channels` values per node, −G/(H + l2); zero for internal nodes. */
  value: number[];
  /** Per leaf: node id and its rows' range in `indices`. */
  leaves: { node: number; start: number; end: number }[];
}

interface Node {
  id: number;
  start: number;
  end: number;
  depth: number;
  /** gradients, hessian, count */
  total: Float64Array;
  hist: Float64Array | null;
  split: SplitCandidate | null;
}

/** Histograms kept alive at once, at most; past this a node forgoes the subtraction trick. */
const MAX_LIVE_HISTOGRAMS = 128;
/** Memory the kept histograms may take (many classes × many features make each one large). */
const MAX_LIVE_BYTES = 256 * 1024 * 1024;
/** Below this many rows a node's split is found by sorting its bins, not scanning all of them. */
const SMALL_NODE = 128;

export class TreeGrower {
  /** Rows of the current tree, partitioned node by node. */
  indices: Uint32Array;
  private scratch: Uint32Array;
  private pool: Float64Array[] = [];
  private live = 0;
  private readonly histSize: number;
  private readonly maxLive: number;
  private readonly s: number;
  private readonly perm: Int32Array;
  private readonly drawn: Int32Array;
  private readonly tmp: Float64Array;
  private sortKeys = new Uint32Array(SMALL_NODE);
  private sparse: Float64Array;
  private sparseBins = new Uint8Array(256);
  private goLeft = new Uint8Array(256);

  constructor(
    private readonly d: BinnedData,
    private readonly channels: number,
    capacity: number,
    private readonly opts: GrowOptions,
    private readonly rng: Rng | null,
  ) {
    this.s = channels + 2;
    this.histSize = d.nf * d.binStride * this.s;
    this.maxLive = Math.max(
      2,
      Math.min(MAX_LIVE_HISTOGRAMS, Math.floor(MAX_LIVE_BYTES / (8 * this.histSize))),
    );
    this.indices = new Uint32Array(capacity);
    this.scratch = new Uint32Array(capacity);
    this.perm = Int32Array.from({ length: d.nf }, (_, i) => i);
    this.drawn = new Int32Array(d.nf);
    this.tmp = new Float64Array(this.s);
    this.sparse = new Float64Array(257 * this.s);
  }

  /**
   * Grows a tree over `rows` (repeats allowed: a bootstrap sample) from `gh`: per row, `channels`
   * gradients then the hessian.
   */
  grow(rows: Uint32Array, gh: Float64Array): GrownTree {
    const { opts, channels, s } = this;
    const m = rows.length;
    if (this.indices.length < m) {
      this.indices = new Uint32Array(m);
      this.scratch = new Uint32Array(m);
    }
    this.indices.set(rows);
    this.gh = gh;
    this.packed = channels === 1 && opts.featuresPerSplit === null ? this.pack(rows, gh) : null;
    const tree: GrownTree = {
      feature: [],
      bin: [],
      missingLeft: [],
      left: [],
      right: [],
      value: [],
      leaves: [],
    };
    const total = new Float64Array(s);
    const root = this.addNode(tree, 0, m, 0, total);
    if (this.packed && m >= 2 * opts.minSamplesLeaf) {
      // Every row is in exactly one bin of feature 0, so the root's sums come with its histogram.
      root.hist = this.acquire();
      this.fill(root, root.hist, null, this.d.nf);
      for (let b = 0; b < this.d.binStride; b++) {
        total[0]! += root.hist[3 * b]!;
        total[1]! += root.hist[3 * b + 1]!;
      }
    } else {
      for (let i = 0; i < m; i++) {
        const idx = rows[i]!;
        for (let c = 0; c <= channels; c++) total[c]! += gh[idx * (channels + 1) + c]!;
      }
    }
    total[channels + 1] = m;
    const open: Node[] = [];
    const heap = opts.maxLeafNodes !== null && opts.leafwise;
    const fifo = opts.maxLeafNodes !== null && !opts.leafwise;
    let head = 0;
    const push = (n: Node) => {
      open.push(n);
      if (heap) siftUp(open, open.length - 1);
    };
    const pop = (): Node | undefined => {
      if (fifo) return head < open.length ? open[head++] : undefined;
      if (!heap) return open.pop();
      const top = open[0];
      const last = open.pop();
      if (open.length && last) {
        open[0] = last;
        siftDown(open, 0);
      }
      return top;
    };
    if (this.splittable(root)) this.findSplit(root, root.hist);
    if (root.split) push(root);
    else this.release(root);
    let leaves = 1;
    for (let node = pop(); node; node = pop()) {
      if (opts.maxLeafNodes !== null && leaves >= opts.maxLeafNodes) {
        this.release(node);
        for (let i = head; i < open.length; i++) this.release(open[i]!);
        break;
      }
      const [l, r] = this.split(tree, node);
      leaves++;
      const ls = this.splittable(l);
      const rs = this.splittable(r);
      if (opts.featuresPerSplit === null && node.hist && (ls || rs) && this.live < this.maxLive) {
        // Build the smaller child from rows; the larger is the parent minus it.
        const [small, large] = l.end - l.start <= r.end - r.start ? [l, r] : [r, l];
        small.hist = this.acquire();
        this.fill(small, small.hist, null, this.d.nf);
        subtractHistogram(node.hist, small.hist);
        large.hist = node.hist;
        node.hist = null;
      } else {
        this.release(node);
      }
      for (const child of [l, r]) {
        if (child === l ? ls : rs) this.findSplit(child, child.hist);
        if (child.split) push(child);
        else this.release(child);
      }
    }
    for (let id = 0; id < tree.feature.length; id++) {
      if (tree.feature[id] !== -1) continue;
      const t = this.totals[id]!;
      for (let c = 0; c < channels; c++) tree.value[id * channels + c] = -t[c]! / (t[channels]! + opts.l2);
      tree.leaves.push({ node: id, start: this.starts[id]!, end: this.ends[id]! });
    }
    this.totals = [];
    this.starts = [];
    this.ends = [];
    return tree;
  }

  private totals: Float64Array[] = [];
  private starts: number[] = [];
  private ends: number[] = [];

  private addNode(tree: GrownTree, start: number, end: number, depth: number, total: Float64Array): Node {
    const id = tree.feature.length;
    tree.feature.push(-1);
    tree.bin.push(0);
    tree.missingLeft.push(false);
    tree.left.push(-1);
    tree.right.push(-1);
    for (let c = 0; c < this.channels; c++) tree.value.push(0);
    this.totals.push(total);
    this.starts.push(start);
    this.ends.push(end);
    return { id, start, end, depth, total, hist: null, split: null };
  }

  private splittable(n: Node): boolean {
    const { opts } = this;
    const count = n.end - n.start;
    return (
      (opts.maxDepth === null || n.depth < opts.maxDepth) &&
      count >= 2 * opts.minSamplesLeaf &&
      n.total[this.channels]! >= 2 * opts.minHessian
    );
  }

  private acquire(): Float64Array {
    this.live++;
    const h = this.pool.pop();
    if (h) return h.fill(0);
    return new Float64Array(this.histSize);
  }

  private release(n: Node): void {
    if (!n.hist) return;
    this.pool.push(n.hist);
    n.hist = null;
    this.live--;
  }

  private fill(n: Node, hist: Float64Array, features: Int32Array | null, k: number): void {
    if (this.packed && features === null) {
      if (this.ordered.length < 2 * (n.end - n.start))
        this.ordered = new Float64Array(2 * this.indices.length);
      buildPackedByColumn(this.d, hist, this.indices, n.start, n.end, this.packed, this.ordered);
      return;
    }
    buildHistogram(this.d, this.channels, hist, this.indices, n.start, n.end, this.gh, features, k);
  }

  /**
   * One channel over all features: hessians packed with row counts (see `Packed`), or null when
   * the total hessian is too large to leave the count exact.
   */
  private pack(rows: Uint32Array, gh: Float64Array): Packed | null {
    let total = 0;
    for (let i = 0; i < rows.length; i++) total += gh[2 * rows[i]! + 1]!;
    const unit = total > 0 ? 2 ** Math.ceil(Math.log2(2 * total)) : 1;
    if (!Number.isFinite(unit) || unit * (rows.length + 1) > 2 ** 50) return null;
    const n = gh.length;
    if (this.packedBuffer.length < n) this.packedBuffer = new Float64Array(n);
    const out = this.packedBuffer;
    for (let i = 0; i < n; i += 2) {
      out[i] = gh[i]!;
      out[i + 1] = gh[i + 1]! + unit;
    }
    return { gh: out, unit };
  }

  /** The current tree's gradients and hessians. */
  private gh: Float64Array = new Float64Array(0);
  private packed: Packed | null = null;
  private packedBuffer = new Float64Array(0);
  /** A child's packed gradients in its row order. */
  private ordered = new Float64Array(0);

  /** Sets `n.split` to the best split with a positive gain, if any; `hist` is n's if already built. */
  private findSplit(n: Node, hist: Float64Array | null): void {
    const { d, opts, channels, s } = this;
    const best: SplitCandidate = {
      gain: 0,
      feature: -1,
      bin: 0,
      missingLeft: false,
      left: new Float64Array(s),
    };
    best.gain = nodeScore(n.total, channels, opts.l2);
    const base = best.gain;
    let features: Int32Array | null = null;
    let k = d.nf;
    if (opts.featuresPerSplit !== null && opts.featuresPerSplit < d.nf && this.rng) {
      k = opts.featuresPerSplit;
      for (let i = 0; i < k; i++) {
        const j = i + this.rng.int(d.nf - i);
        const t = this.perm[i]!;
        this.perm[i] = this.perm[j]!;
        this.perm[j] = t;
      }
      features = this.drawn;
      features.set(this.perm.subarray(0, k));
    }
    const fstride = d.binStride * s;
    if (!hist && opts.featuresPerSplit !== null && n.end - n.start < SMALL_NODE) {
      for (let j = 0; j < k; j++) this.scanSparse(n, features ? features[j]! : j, best);
    } else {
      let own = hist;
      if (!own) {
        // Forests (and nodes past the live-histogram bound) build a histogram only to split.
        own = this.acquire();
        this.fill(n, own, features, k);
        if (opts.featuresPerSplit === null && this.live <= this.maxLive) n.hist = own;
      }
      for (let j = 0; j < k; j++) {
        const f = features ? features[j]! : j;
        const b = f * fstride;
        // biome-ignore format: one call
        scanFeature(own, b, d.nBins[f]!, null, b + d.missingBin * s, channels, n.total, f, opts, best, this.tmp);
      }
      if (own !== n.hist) {
        this.pool.push(own);
        this.live--;
      }
    }
    if (best.feature >= 0 && best.gain - base > 1e-12 * Math.max(1, Math.abs(base))) {
      best.gain -= base;
      n.split = best;
    }
  }

  /** The split search for a small node: its rows' bins sorted, one entry per bin present. */
  private scanSparse(n: Node, f: number, best: SplitCandidate): void {
    const { d, channels, s, gh } = this;
    const count = n.end - n.start;
    const keys = this.sortKeys;
    const col = d.byColumn.subarray(f * d.n, (f + 1) * d.n);
    for (let i = 0; i < count; i++) keys[i] = (col[this.indices[n.start + i]!]! << 8) | i;
    const sorted = keys.subarray(0, count).sort();
    const sp = this.sparse;
    const bins = this.sparseBins;
    const missingAt = 256 * s;
    sp.fill(0, missingAt, missingAt + s);
    let ne = -1;
    let prev = -1;
    for (let i = 0; i < count; i++) {
      const bin = sorted[i]! >>> 8;
      const idx = this.indices[n.start + (sorted[i]! & 0xff)]!;
      let p: number;
      if (bin === d.missingBin) p = missingAt;
      else {
        if (bin !== prev) {
          ne++;
          bins[ne] = bin;
          prev = bin;
          sp.fill(0, ne * s, ne * s + s);
        }
        p = ne * s;
      }
      for (let c = 0; c <= channels; c++) sp[p + c]! += gh[idx * (channels + 1) + c]!;
      sp[p + channels + 1]! += 1;
    }
    scanFeature(sp, 0, ne + 1, bins, missingAt, channels, n.total, f, this.opts, best, this.tmp);
  }

  private split(tree: GrownTree, n: Node): [Node, Node] {
    const sp = n.split!;
    const { byColumn, n: rows, missingBin } = this.d;
    const idx = this.indices;
    const out = this.scratch;
    const f = sp.feature;
    const bin = sp.bin;
    const ml = sp.missingLeft;
    const col = byColumn.subarray(f * rows, (f + 1) * rows);
    // Left or right by table lookup and both writes made: a coin-flip branch per row costs more
    // than the extra store (about twice as fast here).
    const goLeft = this.goLeft;
    for (let b = 0; b < 256; b++) goLeft[b] = b === missingBin ? (ml ? 1 : 0) : b <= bin ? 1 : 0;
    let l = n.start;
    let r = 0;
    for (let i = n.start; i < n.end; i++) {
      const row = idx[i]!;
      const left = goLeft[col[row]!]!;
      idx[l] = row;
      out[r] = row;
      l += left;
      r += 1 - left;
    }
    idx.set(out.subarray(0, r), l);
    const rightTotal = new Float64Array(this.s);
    for (let c = 0; c < this.s; c++) rightTotal[c] = n.total[c]! - sp.left[c]!;
    const left = this.addNode(tree, n.start, l, n.depth + 1, sp.left);
    const right = this.addNode(tree, l, n.end, n.depth + 1, rightTotal);
    tree.feature[n.id] = f;
    tree.bin[n.id] = bin;
    tree.missingLeft[n.id] = ml;
    tree.left[n.id] = left.id;
    tree.right[n.id] = right.id;
    return [left, right];
  }
}

const gainOf = (n: Node) => n.split?.gain ?? 0;

function siftUp(a: Node[], i: number): void {
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (gainOf(a[p]!) >= gainOf(a[i]!)) return;
    [a[p], a[i]] = [a[i]!, a[p]!];
    i = p;
  }
}

function siftDown(a: Node[], i: number): void {
  for (;;) {
    const l = 2 * i + 1;
    const r = l + 1;
    let m = i;
    if (l < a.length && gainOf(a[l]!) > gainOf(a[m]!)) m = l;
    if (r < a.length && gainOf(a[r]!) > gainOf(a[m]!)) m = r;
    if (m === i) return;
    [a[m], a[i]] = [a[i]!, a[m]!];
    i = m;
  }
}
