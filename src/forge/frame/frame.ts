/**
 * Forge's in-memory table: columnar, so a 100k-row training set is a handful of typed arrays rather
 * than 100k objects. Numeric-like columns are Float64Array with NaN for a missing value (booleans
 * 0/1, datetimes epoch milliseconds); categorical and text columns are arrays of strings with null.
 */
export type ColumnType = 'numeric' | 'categorical' | 'boolean' | 'text' | 'datetime';

export type NumericColumn = { name: string; type: 'numeric' | 'boolean' | 'datetime'; values: Float64Array };
export type StringColumn = { name: string; type: 'categorical' | 'text'; values: (string | null)[] };
export type Column = NumericColumn | StringColumn;

export interface Frame {
  readonly length: number;
  readonly columns: readonly Column[];
}

export const isNumeric = (c: Column): c is NumericColumn =>
  c.type === 'numeric' || c.type === 'boolean' || c.type === 'datetime';

export function column(frame: Frame, name: string): Column | undefined {
  return frame.columns.find((c) => c.name === name);
}

/** A frame with `replace` columns swapped in by name (or appended) and `drop` removed. */
export function withColumns(frame: Frame, replace: readonly Column[], drop: readonly string[] = []): Frame {
  const byName = new Map(replace.map((c) => [c.name, c]));
  const kept = frame.columns.filter((c) => !drop.includes(c.name)).map((c) => byName.get(c.name) ?? c);
  const added = replace.filter((c) => !frame.columns.some((f) => f.name === c.name));
  return { length: frame.length, columns: [...kept, ...added] };
}

/** The rows at `indices`, in that order. */
export function takeRows(frame: Frame, indices: ArrayLike<number>): Frame {
  const n = indices.length;
  return {
    length: n,
    columns: frame.columns.map((c): Column => {
      if (isNumeric(c)) {
        const v = new Float64Array(n);
        for (let i = 0; i < n; i++) v[i] = c.values[indices[i] as number] as number;
        return { ...c, values: v };
      }
      const v = new Array<string | null>(n);
      for (let i = 0; i < n; i++) v[i] = c.values[indices[i] as number] ?? null;
      return { ...c, values: v };
    }),
  };
}
