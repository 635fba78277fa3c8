import { RuntimeError } from '../../core/runtimes/types.js';
import type { Column, ColumnType, Frame } from '../frame/frame.js';

export interface InputFeature {
  name: string;
  type: string;
  required: boolean;
}

export const COLUMN_TYPES: readonly ColumnType[] = ['numeric', 'categorical', 'boolean', 'text', 'datetime'];

const invalid = (row: number, name: string, what: string) =>
  new RuntimeError('invalid_input', `row ${row}: '${name}' ${what}`);

const describe = (v: unknown) => (Array.isArray(v) ? 'an array' : v === null ? 'null' : `a ${typeof v}`);

/** A numeric-like input value: NaN for missing; booleans as 0/1, datetimes as epoch milliseconds. */
function numberOf(v: unknown, type: ColumnType, row: number, name: string): number {
  if (v === undefined || v === null) return Number.NaN;
  if (type === 'boolean') {
    if (typeof v === 'boolean') return v ? 1 : 0;
    if (v === 0 || v === 1) return v;
    throw invalid(row, name, `must be true or false, got ${describe(v)}`);
  }
  if (type === 'datetime') {
    if (typeof v === 'number' && Number.isFinite(v)) return v;
    const t = typeof v === 'string' ? Date.parse(v) : Number.NaN;
    if (Number.isNaN(t)) throw invalid(row, name, 'must be a date (ISO 8601) or epoch milliseconds');
    return t;
  }
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  throw invalid(row, name, `must be a number, got ${describe(v)}`);
}

/** Categories arrive as strings; a number or boolean is taken by its text form ("3", "true"). */
function stringOf(v: unknown, row: number, name: string): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return v;
  if ((typeof v === 'number' && Number.isFinite(v)) || typeof v === 'boolean') return String(v);
  throw invalid(row, name, `must be a string, got ${describe(v)}`);
}

/**
 * Request rows as a frame with exactly the pipeline's input columns, typed as at training. A missing
 * optional feature becomes a missing value; keys that are not features are ignored.
 */
export function rowsToFrame(
  rows: readonly Record<string, unknown>[],
  features: readonly InputFeature[],
): Frame {
  rows.forEach((r, i) => {
    if (typeof r !== 'object' || r === null || Array.isArray(r))
      throw new RuntimeError('invalid_input', `row ${i} must be an object of feature values`);
  });
  const columns = features.map((f): Column => {
    const type = f.type as ColumnType;
    const check = (v: unknown, i: number) => {
      if (f.required && (v === undefined || v === null)) throw invalid(i, f.name, 'is required');
      return v;
    };
    if (type === 'numeric' || type === 'boolean' || type === 'datetime')
      return {
        name: f.name,
        type,
        values: Float64Array.from(rows, (r, i) => numberOf(check(r[f.name], i), type, i, f.name)),
      };
    return {
      name: f.name,
      type,
      values: rows.map((r, i) => stringOf(check(r[f.name], i), i, f.name)),
    } as Column;
  });
  return { length: rows.length, columns };
}
