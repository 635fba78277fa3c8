import { createHash } from 'node:crypto';
import type { ColumnType } from '../../frame/frame.js';
import { isMissing, toBoolean, toDatetime, toNumber, toText } from '../values.js';

/** Distinct values counted exactly per column; past this the count reads "more than N". */
export const DISTINCT_CAP = 10_000;
/**
 * Distinct values kept across all columns of one file. A wide file of unique strings would
 * otherwise hold DISTINCT_CAP keys per column (2000 columns: 20 million); past the budget, the
 * columns still counting stop as if they had reached their cap.
 */
export const DISTINCT_BUDGET = 1_000_000;
/** Values kept per numeric or datetime column for quantiles (exact below this many values). */
export const RESERVOIR_SIZE = 4096;
/** Most frequent values reported for categorical and text columns. */
export const TOP_K = 10;
/** Longer values are counted by their first characters and a digest, so map keys stay small. */
const KEY_CHARS = 64;

export interface ColumnStats {
  name: string;
  type: ColumnType;
  /** Non-missing values. */
  count: number;
  missing: number;
  /** Exact when `distinct_exact`; otherwise there are more than this many. */
  distinct: number;
  distinct_exact: boolean;
  min?: number | string | null;
  max?: number | string | null;
  mean?: number | null;
  /** Sample standard deviation (n − 1); null below two values. */
  std?: number | null;
  /** Linear-interpolation quantiles over the reservoir sample (exact up to RESERVOIR_SIZE values). */
  quantiles?: { p5: number; p25: number; p50: number; p75: number; p95: number } | null;
  quantiles_exact?: boolean;
  true_count?: number;
  false_count?: number;
  top?: { value: string; count: number }[];
  /** False once the distinct cap was reached: later values no longer add to the counts. */
  top_exact?: boolean;
  min_length?: number;
  max_length?: number;
  mean_length?: number;
}

/** mulberry32: a small seeded generator, so the same file always yields the same sample. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Quantile `q` of sorted values by linear interpolation between closest ranks (numpy's default). */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const pos = (n - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

const round = (x: number) => (Number.isFinite(x) ? Number(x.toPrecision(12)) : null);

/**
 * One column's running profile over all rows in bounded memory: type candidates, a running mean and
 * variance (Welford), min and max, a seeded reservoir sample for quantiles, exact distinct counts up
 * to DISTINCT_CAP, and text lengths.
 */
export class ColumnProfile {
  present = 0;
  private maybeBool = true;
  private maybeNumber = true;
  private maybeDate = true;
  private trues = 0;
  private falses = 0;
  private n = 0;
  private mean = 0;
  private m2 = 0;
  private min = Number.POSITIVE_INFINITY;
  private max = Number.NEGATIVE_INFINITY;
  /** Grows to RESERVOIR_SIZE as values come; dropped once the column cannot be numeric or datetime. */
  private sample: Float64Array | null = new Float64Array(64);
  private readonly random: () => number;
  private readonly counts = new Map<string, number>();
  private capped = false;
  private lenMin = Number.POSITIVE_INFINITY;
  private lenMax = 0;
  private lenSum = 0;

  constructor(
    readonly name: string,
    seed: number,
    /** Shared by the columns of one file (see DISTINCT_BUDGET). */
    private readonly budget: { left: number } = { left: DISTINCT_BUDGET },
  ) {
    this.random = seededRandom(seed);
  }

  add(v: unknown): void {
    if (isMissing(v)) return;
    this.present++;
    if (this.maybeBool) {
      const b = toBoolean(v);
      if (Number.isNaN(b)) this.maybeBool = false;
      else if (b === 1) this.trues++;
      else this.falses++;
    }
    if (this.maybeNumber || this.maybeDate) {
      // A value is never both a plain number and an ISO date, so at most one candidate survives it.
      const num = this.maybeNumber ? toNumber(v) : Number.NaN;
      if (Number.isNaN(num)) this.maybeNumber = false;
      const x = this.maybeNumber ? num : this.maybeDate ? toDatetime(v) : Number.NaN;
      if (!this.maybeNumber && Number.isNaN(x)) this.maybeDate = false;
      if (this.maybeNumber || this.maybeDate) this.addNumber(x);
      else this.sample = null;
    }
    const text = toText(v);
    this.lenMin = Math.min(this.lenMin, text.length);
    this.lenMax = Math.max(this.lenMax, text.length);
    this.lenSum += text.length;
    const key =
      text.length <= KEY_CHARS
        ? text
        : `${text.slice(0, KEY_CHARS)}… #${createHash('sha256').update(text).digest('hex').slice(0, 16)}`;
    const c = this.counts.get(key);
    if (c !== undefined) this.counts.set(key, c + 1);
    else if (this.counts.size < DISTINCT_CAP && this.budget.left > 0) {
      this.counts.set(key, 1);
      this.budget.left--;
    } else this.capped = true;
  }

  private addNumber(x: number): void {
    this.n++;
    const d = x - this.mean;
    this.mean += d / this.n;
    this.m2 += d * (x - this.mean);
    if (x < this.min) this.min = x;
    if (x > this.max) this.max = x;
    let s = this.sample!;
    if (this.n > s.length && s.length < RESERVOIR_SIZE) {
      const grown = new Float64Array(Math.min(s.length * 2, RESERVOIR_SIZE));
      grown.set(s);
      this.sample = s = grown;
    }
    if (this.n <= s.length) s[this.n - 1] = x;
    else {
      // Algorithm R: the n-th value replaces a random slot with probability size/n.
      const j = Math.floor(this.random() * this.n);
      if (j < s.length) s[j] = x;
    }
  }

  /**
   * The column's type, in this order: boolean when every value is true/false/yes/no/0/1 (so a 0/1
   * column is a flag, not a number); numeric when every value is a plain number; datetime when every
   * value is an ISO-8601 date; categorical when it has at most max(20, 5% of rows) distinct values
   * (and fewer than DISTINCT_CAP); text otherwise, and for a column with no value at all.
   */
  type(rows: number): ColumnType {
    if (this.present === 0) return 'text';
    if (this.maybeBool) return 'boolean';
    if (this.maybeNumber) return 'numeric';
    if (this.maybeDate) return 'datetime';
    if (!this.capped && this.counts.size <= Math.max(20, Math.ceil(rows * 0.05))) return 'categorical';
    return 'text';
  }

  stats(rows: number): ColumnStats {
    const type = this.type(rows);
    const base: ColumnStats = {
      name: this.name,
      type,
      count: this.present,
      missing: rows - this.present,
      distinct: this.counts.size,
      distinct_exact: !this.capped,
    };
    if (type === 'boolean') return { ...base, true_count: this.trues, false_count: this.falses };
    if (type === 'numeric' || type === 'datetime') {
      const sorted = this.sample!.slice(0, Math.min(this.n, RESERVOIR_SIZE)).sort();
      const q = (p: number) => round(quantile(sorted, p)) as number;
      const quantiles =
        this.n > 0 ? { p5: q(0.05), p25: q(0.25), p50: q(0.5), p75: q(0.75), p95: q(0.95) } : null;
      if (type === 'datetime')
        return {
          ...base,
          min: new Date(this.min).toISOString(),
          max: new Date(this.max).toISOString(),
        };
      return {
        ...base,
        min: this.min,
        max: this.max,
        mean: round(this.mean),
        std: this.n > 1 ? round(Math.sqrt(this.m2 / (this.n - 1))) : null,
        quantiles,
        quantiles_exact: this.n <= RESERVOIR_SIZE,
      };
    }
    const top = [...this.counts]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .slice(0, TOP_K)
      .map(([value, count]) => ({ value, count }));
    return {
      ...base,
      top,
      top_exact: !this.capped,
      ...(this.present > 0
        ? {
            min_length: this.lenMin,
            max_length: this.lenMax,
            mean_length: round(this.lenSum / this.present) as number,
          }
        : {}),
    };
  }
}
