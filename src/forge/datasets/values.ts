/**
 * How one cell reads, shared by schema inference at upload and by the frame reader in training
 * processes, so a column is typed once and read the same way everywhere. Pure: no I/O, no database.
 *
 * A cell is missing when it is absent, JSON null, or a string that is blank or one of the usual
 * spellings of "no value" (NA, N/A, NaN, null, None; any case). The same rule applies to CSV and to
 * JSON strings, so a file means the same thing in either format.
 */
const MISSING = new Set(['', 'na', 'n/a', 'nan', 'null', 'none']);

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const TRUE = new Set(['true', 'yes', '1']);
const FALSE = new Set(['false', 'no', '0']);
/** ISO-8601 calendar dates with an optional time and offset: 2024-03-01, 2024-03-01T12:30:00.5Z. */
const DATETIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** True when `s` is longer than `n` and has no surrounding blank: then it cannot be a short token. */
const longAndTrimmed = (s: string, n: number) =>
  s.length > n && s.charCodeAt(0) > 32 && s.charCodeAt(s.length - 1) > 32;

export function isMissing(v: unknown): boolean {
  if (v === null || v === undefined) return true;
  // Every cell passes here, most of them ordinary values: skip the lower-casing when it cannot match.
  if (typeof v === 'string') return !longAndTrimmed(v, 4) && MISSING.has(v.trim().toLowerCase());
  if (typeof v === 'number') return Number.isNaN(v);
  return false;
}

/** A finite number, or NaN when the cell is not a plain decimal number (no hex, no "Infinity"). */
export function toNumber(v: unknown): number {
  if (typeof v === 'number') return Number.isFinite(v) ? v : Number.NaN;
  if (typeof v !== 'string') return Number.NaN;
  const s = v.trim();
  if (!NUMBER.test(s)) return Number.NaN;
  const n = Number(s);
  return Number.isFinite(n) ? n : Number.NaN;
}

/** 1 for true/yes/1, 0 for false/no/0 (strings in any case, JSON booleans, the numbers 0 and 1), else NaN. */
export function toBoolean(v: unknown): number {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number') return v === 1 ? 1 : v === 0 ? 0 : Number.NaN;
  if (typeof v !== 'string' || longAndTrimmed(v, 5)) return Number.NaN;
  const s = v.trim().toLowerCase();
  return TRUE.has(s) ? 1 : FALSE.has(s) ? 0 : Number.NaN;
}

const DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const leap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;

/**
 * Epoch milliseconds of an ISO-8601-like date or date-time, NaN otherwise. A time without an offset
 * is read as UTC (never as the reading machine's local time), so every node gets the same number.
 */
export function toDatetime(v: unknown): number {
  if (typeof v !== 'string') return Number.NaN;
  const m = DATETIME.exec(v.trim());
  if (!m) return Number.NaN;
  const [y, mo, d, h = 0, mi = 0, s = 0] = m.slice(1, 7).map((x) => (x === undefined ? 0 : Number(x)));
  if (mo! < 1 || mo! > 12 || d! < 1) return Number.NaN;
  if (d! > (mo === 2 && !leap(y!) ? 28 : DAYS[mo! - 1]!)) return Number.NaN;
  if (h > 23 || mi > 59 || s > 59) return Number.NaN;
  const ms = m[7] ? Number(`0.${m[7]}`) * 1000 : 0;
  let t = Date.UTC(y!, mo! - 1, d!, h, mi, s) + Math.floor(ms);
  // Date.UTC maps years 0–99 to 1900–1999; set the year again to keep what the file says.
  if (y! < 100) {
    const date = new Date(t);
    date.setUTCFullYear(y!);
    t = date.getTime();
  }
  const off = m[8];
  if (off && off !== 'Z') {
    const sign = off[0] === '-' ? -1 : 1;
    const digits = off.slice(1).replace(':', '');
    const oh = Number(digits.slice(0, 2));
    const om = Number(digits.slice(2, 4));
    if (oh > 23 || om > 59) return Number.NaN;
    t -= sign * (oh * 60 + om) * 60_000;
  }
  return t;
}

/** The cell as text: strings as written, other JSON values in their JSON spelling. */
export function toText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v) ?? '';
}
