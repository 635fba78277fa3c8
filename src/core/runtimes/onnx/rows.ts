import { RuntimeError } from '../types.js';
import type { InputSpec, Signature } from './signature.js';
import { fitsShape, formatShape, shapeOf } from './tensors.js';

/*
 * Rows come in one of two styles.
 *
 * Tensor style, for any model: a row names every model input, `{ <input name>: value }`. The value
 * is a nested number array (or a number, boolean or string for scalars and string tensors) holding
 * ONE row's slice: for an input of shape [batch, 2, 3] a row sends a 2×3 array, and rows are stacked
 * along the batch dim into one run. Inputs without a batch dim take the whole tensor per row and
 * such models run row by row.
 *
 * Feature style, for models whose single input is a 2-D float matrix [batch, n_features]: a row is
 * an array of n_features numbers, or an object of feature values whose order is given by the load
 * config `feature_names` (every named feature required, no other keys).
 */

export interface PreparedRow {
  /** One value per model input, in input order. */
  values: unknown[];
  /** The shape of each value, in input order. */
  shapes: number[][];
}

const invalid = (message: string) => new RuntimeError('invalid_input', message, 400);

function listInputs(sig: Signature): string {
  return sig.inputs.map((i) => `"${i.name}" (${i.expected})`).join(', ');
}

function featureRow(sig: Signature, row: unknown, index: number): unknown[] | undefined {
  const f = sig.features;
  if (!f) return undefined;
  if (Array.isArray(row)) return row;
  const names = f.names;
  if (!names || typeof row !== 'object' || row === null) return undefined;
  // A row keyed by the input name itself is tensor style, unless that is also a feature's name.
  if (Object.hasOwn(row, f.input.name) && !names.includes(f.input.name)) return undefined;
  const record = row as Record<string, unknown>;
  const unknown = Object.keys(record).filter((k) => !names.includes(k));
  if (unknown.length) {
    throw invalid(
      `Row ${index}: unknown feature ${unknown.map((k) => `"${k}"`).join(', ')}; features are ${names.join(', ')}`,
    );
  }
  return names.map((name) => {
    if (!Object.hasOwn(record, name))
      throw invalid(`Row ${index}: missing feature "${name}" (${f.input.type})`);
    const value = record[name];
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw invalid(
        `Row ${index}: feature "${name}" must be a number (${f.input.type} input "${f.input.name}")`,
      );
    }
    return value;
  });
}

function tensorRow(sig: Signature, row: unknown, index: number): unknown[] {
  if (typeof row !== 'object' || row === null || Array.isArray(row)) {
    throw invalid(`Row ${index}: expected an object with the model inputs ${listInputs(sig)}`);
  }
  const record = row as Record<string, unknown>;
  const names = new Set(sig.inputs.map((i) => i.name));
  const unknown = Object.keys(record).filter((k) => !names.has(k));
  if (unknown.length) {
    const hint =
      sig.features && !sig.features.names ? '; set the load config feature_names to send named features' : '';
    throw invalid(
      `Row ${index}: unknown input ${unknown.map((k) => `"${k}"`).join(', ')}; the model's inputs are ${listInputs(sig)}${hint}`,
    );
  }
  return sig.inputs.map((input) => {
    if (!Object.hasOwn(record, input.name)) {
      throw invalid(`Row ${index}: missing input "${input.name}", expected ${input.expected}`);
    }
    return record[input.name];
  });
}

/** Checks a value's shape against the input, dropping an explicit leading 1 of a batch-of-one input. */
function fitValue(input: InputSpec, value: unknown, index: number): { value: unknown; shape: number[] } {
  const shape = shapeOf(value);
  if (!input.rowDims) return { value, shape };
  if (fitsShape(shape, input.rowDims)) return { value, shape };
  if (input.mode === 'single' && shape[0] === 1 && fitsShape(shape.slice(1), input.rowDims)) {
    return { value: (value as unknown[])[0], shape: shape.slice(1) };
  }
  throw invalid(
    `Row ${index}: input "${input.name}" has shape ${formatShape(shape)}; expected ${input.expected}`,
  );
}

export function prepareRows(sig: Signature, rows: readonly unknown[]): PreparedRow[] {
  return rows.map((row, index) => {
    const features = featureRow(sig, row, index);
    const raw = features ? [features] : tensorRow(sig, row, index);
    const values: unknown[] = [];
    const shapes: number[][] = [];
    sig.inputs.forEach((input, i) => {
      const fitted = fitValue(input, raw[i], index);
      values.push(fitted.value);
      shapes.push(fitted.shape);
    });
    return { values, shapes };
  });
}

/**
 * Row indices that can share one run: every row of a batchable model whose values have the same
 * shapes (symbolic inner dims may differ between rows); otherwise one row per run.
 */
export function groupRows(sig: Signature, rows: readonly PreparedRow[]): number[][] {
  if (!sig.batchable) return rows.map((_, i) => [i]);
  const groups = new Map<string, number[]>();
  rows.forEach((row, i) => {
    const key = row.shapes.map((s) => s.join('x')).join('|');
    const group = groups.get(key);
    if (group) group.push(i);
    else groups.set(key, [i]);
  });
  return [...groups.values()];
}
