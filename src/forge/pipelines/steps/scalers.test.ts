import { describe, expect, it } from 'vitest';
import type { Frame, NumericColumn } from '../../frame/frame.js';
import { frameOf, testContext } from '../test-frames.js';
import { minMaxScaler, robustScaler, standardScaler } from './scalers.js';

const ctx = testContext();
const num = (f: Frame, name: string) =>
  Array.from((f.columns.find((c) => c.name === name) as NumericColumn).values);

describe('standard_scaler', () => {
  const f = frameOf({
    x: [1, 2, 3, 4, null],
    flag: [true, false, true, true, false],
    c: ['a', 'b', 'a', 'b', 'a'],
  });

  it('centres on the mean and divides by the population deviation, ignoring missing values', async () => {
    const p = await standardScaler.fit(f, standardScaler.config.parse({}), ctx);
    const out = standardScaler.apply(f, p);
    const sd = Math.sqrt(1.25);
    const x = num(out, 'x');
    for (const [i, v] of [1, 2, 3, 4].entries()) expect(x[i]).toBeCloseTo((v - 2.5) / sd, 12);
    expect(Number.isNaN(x[4])).toBe(true);
    // Booleans count as numeric; their column becomes plain numeric.
    expect(out.columns.find((c) => c.name === 'flag')?.type).toBe('numeric');
    expect(num(out, 'flag')[1]).toBeCloseTo((0 - 0.6) / Math.sqrt(0.24), 12);
    expect(out.columns.find((c) => c.name === 'c')?.type).toBe('categorical');
  });

  it('leaves a constant column shifted but not divided, and honours with_mean/with_std', async () => {
    const k = frameOf({ k: [5, 5, 5] });
    expect(
      num(standardScaler.apply(k, await standardScaler.fit(k, standardScaler.config.parse({}), ctx)), 'k'),
    ).toEqual([0, 0, 0]);
    const p = await standardScaler.fit(
      f,
      standardScaler.config.parse({ columns: ['x'], with_mean: false }),
      ctx,
    );
    expect(p.columns).toEqual([{ name: 'x', offset: 0, scale: Math.sqrt(1.25) }]);
  });

  it('takes a spread at rounding-noise level for none, instead of blowing values up', async () => {
    const noisy = frameOf({ x: [1e6, 1e6 + 1e-9, 1e6] });
    const p = await standardScaler.fit(noisy, standardScaler.config.parse({}), ctx);
    expect(p.columns[0]?.scale).toBe(1);
    const tiny = frameOf({ x: [0, 2e-150, 4e-150] });
    const q = await standardScaler.fit(tiny, standardScaler.config.parse({}), ctx);
    expect(num(standardScaler.apply(tiny, q), 'x')[2]).toBeCloseTo(Math.sqrt(1.5), 12);
  });

  it('refuses a categorical column by name, suggesting an encoder', () => {
    expect(() => standardScaler.fit(f, standardScaler.config.parse({ columns: ['c'] }), ctx)).toThrow(
      expect.objectContaining({ code: 'non_numeric_feature', message: expect.stringContaining('one_hot') }),
    );
  });
});

describe('min_max_scaler', () => {
  it('maps the training range onto feature_range; values outside it extrapolate', async () => {
    const f = frameOf({ x: [2, 4, 6], k: [5, 5, 5] });
    const p = await minMaxScaler.fit(f, minMaxScaler.config.parse({ feature_range: [-1, 1] }), ctx);
    expect(num(minMaxScaler.apply(f, p), 'x')).toEqual([-1, 0, 1]);
    expect(num(minMaxScaler.apply(frameOf({ x: [8], k: [5] }), p), 'x')).toEqual([2]);
    // No spread: everything lands on the range's start, as scikit-learn does.
    expect(num(minMaxScaler.apply(f, p), 'k')).toEqual([-1, -1, -1]);
    expect(minMaxScaler.config.safeParse({ feature_range: [1, 0] }).success).toBe(false);
  });
});

describe('robust_scaler', () => {
  it('centres on the median and divides by the interquartile range (linear quantiles)', async () => {
    const f = frameOf({ x: [1, 2, 3, 4, 100] });
    const p = await robustScaler.fit(f, robustScaler.config.parse({}), ctx);
    expect(p.columns).toEqual([{ name: 'x', offset: 3, scale: 2 }]);
    expect(num(robustScaler.apply(f, p), 'x')).toEqual([-1, -0.5, 0, 0.5, 48.5]);
    const q = await robustScaler.fit(f, robustScaler.config.parse({ quantile_range: [10, 90] }), ctx);
    // 10th percentile: 1 + 0.4·(2-1) = 1.4; 90th: 4 + 0.6·(100-4) = 61.6.
    expect(q.columns[0]?.scale).toBeCloseTo(60.2, 12);
  });
});
