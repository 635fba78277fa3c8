import { z } from 'zod';
import { type Column, type Frame, isNumeric, type NumericColumn } from '../../frame/frame.js';
import { StepError } from '../errors.js';
import type { ModelStep, TransformStep } from '../types.js';

/** Identity helpers that let TypeScript infer a step's config and params types from its schemas. */
export const defineTransform = <C, P>(step: TransformStep<C, P>): TransformStep<C, P> => step;
export const defineModel = <C, P>(step: ModelStep<C, P>): ModelStep<C, P> => step;

export const columnName = z.string().min(1).max(200);
/** An optional explicit column list; each step documents its default. */
export const columnList = z.array(columnName).min(1).max(10_000);

const listNames = (frame: Frame) => {
  const names = frame.columns.map((c) => `'${c.name}'`);
  return names.length > 12 ? `${names.slice(0, 12).join(', ')}, …` : names.join(', ');
};

/**
 * A column a step needs. At fit, absence means the spec named a column the data lacks; at apply, it
 * means the rows differ from the training data.
 */
export function requireColumn(frame: Frame, name: string, step: string, phase: 'fit' | 'apply'): Column {
  const c = frame.columns.find((col) => col.name === name);
  if (c) return c;
  if (phase === 'fit')
    throw new StepError(
      'unknown_column',
      `${step}: column '${name}' is not in the data (columns: ${listNames(frame)})`,
    );
  throw new StepError('missing_column', `${step}: column '${name}' is missing`);
}

export function requireNumeric(c: Column, step: string, hint = ''): NumericColumn {
  if (isNumeric(c)) return c;
  throw new StepError(
    'non_numeric_feature',
    `${step}: column '${c.name}' is ${c.type}, not numeric${hint ? `; ${hint}` : ''}`,
  );
}

/** The named columns (checked to exist), or those `byDefault` picks when the config names none. */
export function pickColumns(
  frame: Frame,
  names: readonly string[] | undefined,
  byDefault: (c: Column) => boolean,
  step: string,
): Column[] {
  if (names) return [...new Set(names)].map((n) => requireColumn(frame, n, step, 'fit'));
  return frame.columns.filter(byDefault);
}

export function hasMissing(c: Column): boolean {
  if (isNumeric(c)) return c.values.some(Number.isNaN);
  return c.values.some((v) => v === null);
}

/** Finite values of a numeric column, missing ones left out. */
export function presentValues(c: NumericColumn): Float64Array {
  return c.values.filter((v) => !Number.isNaN(v));
}

/** Each named column replaced in place by zero or more columns; the rest keep their order. */
export function spliceColumns(frame: Frame, replace: ReadonlyMap<string, readonly Column[]>): Frame {
  return {
    length: frame.length,
    columns: frame.columns.flatMap((c) => replace.get(c.name) ?? [c]),
  };
}

/** `base`, or `base_2`, `base_3`… when a column already has that name. */
export function uniqueName(base: string, taken: Set<string>): string {
  let name = base;
  for (let i = 2; taken.has(name); i++) name = `${base}_${i}`;
  taken.add(name);
  return name;
}

/** Linear-interpolated quantile (numpy's default) of ascending-sorted values; q in [0, 1]. */
export function quantileSorted(sorted: Float64Array, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const pos = (n - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, n - 1);
  const a = sorted[lo] as number;
  return a + ((sorted[hi] as number) - a) * (pos - lo);
}
