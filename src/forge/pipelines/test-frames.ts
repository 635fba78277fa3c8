import type { Column, ColumnType, Frame } from '../frame/frame.js';
import { createRng } from './random.js';
import type { FitContext } from './types.js';

type Values = readonly (number | null)[] | readonly (string | null)[] | readonly (boolean | null)[];

/**
 * A frame from literal columns, for tests: numbers are numeric (null → NaN), strings categorical,
 * booleans boolean; `types` overrides (e.g. text, datetime).
 */
export function frameOf(cols: Record<string, Values>, types: Record<string, ColumnType> = {}): Frame {
  const columns = Object.entries(cols).map(([name, values]): Column => {
    const first = values.find((v) => v !== null);
    const type =
      types[name] ??
      (typeof first === 'string' ? 'categorical' : typeof first === 'boolean' ? 'boolean' : 'numeric');
    if (type === 'categorical' || type === 'text')
      return { name, type, values: values.map((v) => (v === null ? null : String(v))) };
    return {
      name,
      type,
      values: Float64Array.from(values as readonly unknown[], (v) => (v === null ? Number.NaN : Number(v))),
    };
  });
  const length = columns[0]?.values.length ?? 0;
  return { length, columns };
}

/** Rows (objects) of a frame, missing values left out, as a client would send them. */
export function rowsOf(frame: Frame): Record<string, unknown>[] {
  return Array.from({ length: frame.length }, (_, i) => {
    const row: Record<string, unknown> = {};
    for (const c of frame.columns) {
      const v = c.values[i];
      if (v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v))) continue;
      row[c.name] = c.type === 'boolean' ? v === 1 : v;
    }
    return row;
  });
}

/** Standard normal draws (Box–Muller) from a seeded generator. */
export function normals(n: number, seed: number): Float64Array {
  const r = createRng(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const u = 1 - r.next();
    out[i] = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r.next());
  }
  return out;
}

/** A fit context for tests that records what a step reports. */
export function testContext(overrides: Partial<FitContext> = {}) {
  const progress: number[] = [];
  const logs: string[] = [];
  const metrics: { name: string; value: number; step: number }[] = [];
  const ctx: FitContext = {
    seed: 0,
    signal: new AbortController().signal,
    progress: (f) => progress.push(f),
    metric: (name, value, step) => metrics.push({ name, value, step }),
    log: (m) => logs.push(m),
    ...overrides,
  };
  return Object.assign(ctx, { progressed: progress, logs, metrics });
}
