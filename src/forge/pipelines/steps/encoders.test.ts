import { describe, expect, it } from 'vitest';
import type { Frame, NumericColumn } from '../../frame/frame.js';
import { frameOf, testContext } from '../test-frames.js';
import { MAX_ONE_HOT_CATEGORIES, oneHot } from './one-hot.js';
import { ordinalEncoder } from './ordinal.js';

const ctx = testContext();
const num = (f: Frame, name: string) =>
  Array.from((f.columns.find((c) => c.name === name) as NumericColumn).values);
const names = (f: Frame) => f.columns.map((c) => c.name);

describe('one_hot', () => {
  const f = frameOf({
    x: [1, 2, 3, 4, 5, 6],
    color: ['red', 'blue', 'red', null, 'green', 'red'],
    size: ['s', 'm', 's', 's', 'l', 'm'],
  });

  it('replaces each categorical column in place by sorted 0/1 columns; missing is all zeros', async () => {
    const p = await oneHot.fit(f, oneHot.config.parse({ columns: ['color'] }), ctx);
    const out = oneHot.apply(f, p);
    expect(names(out)).toEqual(['x', 'color_blue', 'color_green', 'color_red', 'size']);
    expect(num(out, 'color_red')).toEqual([1, 0, 1, 0, 0, 1]);
    expect(num(out, 'color_blue')).toEqual([0, 1, 0, 0, 0, 0]);
    expect([3].map((i) => ['color_blue', 'color_green', 'color_red'].map((c) => num(out, c)[i]))).toEqual([
      [0, 0, 0],
    ]);
  });

  it('encodes every categorical column by default and unseen categories as all zeros', async () => {
    const p = await oneHot.fit(f, oneHot.config.parse({}), ctx);
    const out = oneHot.apply(frameOf({ x: [0], color: ['purple'], size: ['m'] }), p);
    expect(names(out)).toEqual(['x', 'color_blue', 'color_green', 'color_red', 'size_l', 'size_m', 'size_s']);
    expect(out.columns.slice(1).map((c) => c.values[0])).toEqual([0, 0, 0, 0, 1, 0]);
  });

  it('drop_first leaves out the first category; max_categories groups the rarest into "other"', async () => {
    const d = oneHot.apply(
      f,
      await oneHot.fit(f, oneHot.config.parse({ columns: ['color'], drop_first: true }), ctx),
    );
    expect(names(d)).toEqual(['x', 'color_green', 'color_red', 'size']);
    const m = await oneHot.fit(f, oneHot.config.parse({ columns: ['color'], max_categories: 2 }), ctx);
    expect(m.columns[0]?.outputs).toEqual([
      { name: 'color_red', categories: ['red'] },
      { name: 'color_other', categories: ['blue', 'green'] },
    ]);
    const out = oneHot.apply(f, m);
    expect(num(out, 'color_other')).toEqual([0, 1, 0, 0, 1, 0]);
  });

  it('keeps output names unique and refuses unbounded category counts', async () => {
    const clash = frameOf({ a: ['x', 'y'], a_x: [1, 2] });
    const p = await oneHot.fit(clash, oneHot.config.parse({ columns: ['a'] }), ctx);
    expect(names(oneHot.apply(clash, p))).toEqual(['a_x_2', 'a_y', 'a_x']);
    const many = frameOf({ id: Array.from({ length: MAX_ONE_HOT_CATEGORIES + 1 }, (_, i) => `id${i}`) });
    expect(() => oneHot.fit(many, oneHot.config.parse({}), ctx)).toThrow(
      expect.objectContaining({ code: 'too_many_categories' }),
    );
  });

  it('encodes a named numeric column by its values', async () => {
    const g = frameOf({ code: [1, 2, 1, null] });
    const out = oneHot.apply(g, await oneHot.fit(g, oneHot.config.parse({ columns: ['code'] }), ctx));
    expect(names(out)).toEqual(['code_1', 'code_2']);
    expect(num(out, 'code_1')).toEqual([1, 0, 1, 0]);
  });
});

describe('ordinal_encoder', () => {
  const f = frameOf({ size: ['m', 's', 'l', null, 's'], x: [1, 2, 3, 4, 5] });

  it('codes sorted categories 0.., missing as NaN and unknown as -1 by default', async () => {
    const p = await ordinalEncoder.fit(f, ordinalEncoder.config.parse({}), ctx);
    expect(p.columns).toEqual([{ name: 'size', categories: ['l', 'm', 's'] }]);
    expect(num(ordinalEncoder.apply(f, p), 'size')).toEqual([1, 2, 0, Number.NaN, 2]);
    expect(num(ordinalEncoder.apply(frameOf({ size: ['xl'], x: [0] }), p), 'size')).toEqual([-1]);
  });

  it('takes a given category order and "nan" for unknowns', async () => {
    const p = await ordinalEncoder.fit(
      f,
      ordinalEncoder.config.parse({ categories: { size: ['s', 'm', 'l'] }, unknown_value: 'nan' }),
      ctx,
    );
    expect(num(ordinalEncoder.apply(f, p), 'size')).toEqual([1, 0, 2, Number.NaN, 0]);
    expect(num(ordinalEncoder.apply(frameOf({ size: ['xl'], x: [0] }), p), 'size')).toEqual([Number.NaN]);
    // The params stay plain JSON.
    expect(JSON.parse(JSON.stringify(p))).toEqual(p);
  });
});
