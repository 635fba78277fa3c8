import { describe, expect, it } from 'vitest';
import type { Frame, NumericColumn, StringColumn } from '../../frame/frame.js';
import { frameOf, testContext } from '../test-frames.js';
import { dropColumns, selectColumns } from './columns.js';
import { impute } from './impute.js';

const ctx = testContext();
const num = (f: Frame, name: string) =>
  Array.from((f.columns.find((c) => c.name === name) as NumericColumn).values);
const str = (f: Frame, name: string) => (f.columns.find((c) => c.name === name) as StringColumn).values;

describe('drop_columns and select_columns', () => {
  const f = frameOf({ a: [1, 2], b: ['x', 'y'], c: [true, false] });

  it('drop removes the named columns and keeps the others in order', async () => {
    const cfg = dropColumns.config.parse({ columns: ['b'] });
    const p = await dropColumns.fit(f, cfg, ctx);
    expect(dropColumns.apply(f, p).columns.map((c) => c.name)).toEqual(['a', 'c']);
    // Already gone is fine at apply time.
    expect(dropColumns.apply(frameOf({ a: [1] }), p).columns.map((c) => c.name)).toEqual(['a']);
  });

  it('select keeps the named columns in the given order and needs them at apply', async () => {
    const p = await selectColumns.fit(f, selectColumns.config.parse({ columns: ['c', 'a'] }), ctx);
    expect(selectColumns.apply(f, p).columns.map((c) => c.name)).toEqual(['c', 'a']);
    expect(() => selectColumns.apply(frameOf({ a: [1] }), p)).toThrow(
      expect.objectContaining({ code: 'missing_column' }),
    );
  });

  it('refuses at fit a column the data lacks, naming it', () => {
    expect(() => dropColumns.fit(f, { columns: ['zz'] }, ctx)).toThrow(
      expect.objectContaining({ code: 'unknown_column', message: expect.stringContaining("'zz'") }),
    );
    expect(selectColumns.config.safeParse({ columns: [] }).success).toBe(false);
  });
});

describe('impute', () => {
  const f = frameOf({
    a: [1, null, 3, 10],
    b: [2, 4, 6, 8],
    color: ['red', null, 'blue', 'red'],
    n: [5, 5, null, 7],
  });

  it('mean fills every numeric column by default, gaps at fit or not', async () => {
    const p = await impute.fit(f, impute.config.parse({}), ctx);
    expect(p.fills).toEqual([
      { column: 'a', value: 14 / 3 },
      { column: 'b', value: 5 },
      { column: 'n', value: 17 / 3 },
    ]);
    // A gap in a column that had none at fit is filled too.
    expect(num(impute.apply(frameOf({ a: [1], b: [null], n: [1] }), p), 'b')).toEqual([5]);
    const out = impute.apply(f, p);
    expect(num(out, 'a')).toEqual([1, 14 / 3, 3, 10]);
    // Categorical columns are not the mean's to fill.
    expect(str(out, 'color')).toEqual(['red', null, 'blue', 'red']);
  });

  it('median takes the middle value (the mean of the two middle ones for an even count)', async () => {
    const p = await impute.fit(f, impute.config.parse({ strategy: 'median' }), ctx);
    expect(p.fills).toEqual([
      { column: 'a', value: 3 },
      { column: 'b', value: 5 },
      { column: 'n', value: 5 },
    ]);
    const even = frameOf({ x: [4, 1, null, 3, 10] });
    expect((await impute.fit(even, impute.config.parse({ strategy: 'median' }), ctx)).fills).toEqual([
      { column: 'x', value: 3.5 },
    ]);
  });

  it('most_frequent fills any column, ties going to the smallest value', async () => {
    const p = await impute.fit(f, impute.config.parse({ strategy: 'most_frequent' }), ctx);
    expect(p.fills).toEqual([
      { column: 'a', value: 1 },
      { column: 'b', value: 2 },
      { column: 'color', value: 'red' },
      { column: 'n', value: 5 },
    ]);
    expect(str(impute.apply(f, p), 'color')).toEqual(['red', 'red', 'blue', 'red']);
  });

  it('constant fills the columns of its value’s type, and refuses a mismatch on a named column', async () => {
    const p = await impute.fit(f, impute.config.parse({ strategy: 'constant', fill_value: -1 }), ctx);
    expect(p.fills.map((x) => x.column)).toEqual(['a', 'b', 'n']);
    const s = await impute.fit(f, impute.config.parse({ strategy: 'constant', fill_value: 'unknown' }), ctx);
    expect(str(impute.apply(f, s), 'color')).toEqual(['red', 'unknown', 'blue', 'red']);
    expect(() =>
      impute.fit(f, impute.config.parse({ strategy: 'constant', fill_value: 'x', columns: ['a'] }), ctx),
    ).toThrow(expect.objectContaining({ code: 'invalid_fill_value' }));
    expect(impute.config.safeParse({ strategy: 'constant' }).error?.issues[0]?.path).toEqual(['fill_value']);
  });

  it('named columns are the only ones filled, and must suit the strategy', async () => {
    const p = await impute.fit(f, impute.config.parse({ columns: ['b'] }), ctx);
    expect(p.fills).toEqual([{ column: 'b', value: 5 }]);
    expect(num(impute.apply(frameOf({ b: [null, 1] }), p), 'b')).toEqual([5, 1]);
    expect(() => impute.fit(f, impute.config.parse({ columns: ['color'] }), ctx)).toThrow(
      expect.objectContaining({ code: 'non_numeric_feature' }),
    );
    expect(() => impute.fit(frameOf({ e: [null, null] }), impute.config.parse({}), ctx)).toThrow(
      expect.objectContaining({ code: 'empty_column' }),
    );
  });

  it('apply is pure: the input frame is unchanged', async () => {
    const p = await impute.fit(f, impute.config.parse({}), ctx);
    impute.apply(f, p);
    expect(Number.isNaN(num(f, 'a')[1])).toBe(true);
  });
});
