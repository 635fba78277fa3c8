import { describe, expect, it } from 'vitest';
import { frameOf, normals, testContext } from '../../test-frames.js';
import type { Target } from '../../types.js';
import { linearRegression, ridge } from './linear.js';

const ctx = testContext();
// The same 12 rows scikit-learn 1.2.1 fitted for the reference coefficients below.
const X = [
  [0.5, 1.2],
  [1.5, -0.3],
  [-1.0, 0.8],
  [2.0, 1.0],
  [-0.5, -1.5],
  [0.3, 0.3],
  [-2.0, 0.1],
  [1.1, -1.2],
  [0.0, 2.0],
  [-1.3, -0.7],
  [0.8, 0.9],
  [-0.2, -0.4],
];
const yr = [1.0, 2.5, -0.3, 4.1, -2.2, 0.9, -3.0, 1.7, 1.5, -1.9, 2.2, -0.1];
const frame = frameOf({ a: X.map((r) => r[0] as number), b: X.map((r) => r[1] as number) });
const target: Target = { task: 'regression', values: Float64Array.from(yr) };

describe('linear_regression', () => {
  it('matches scikit-learn’s least squares', async () => {
    const p = await linearRegression.fit(frame, target, linearRegression.config.parse({}), ctx);
    expect(p.features).toEqual(['a', 'b']);
    expect(p.coef[0]).toBeCloseTo(1.5875864680983733, 8);
    expect(p.coef[1]).toBeCloseTo(0.6064477028217071, 8);
    expect(p.intercept).toBeCloseTo(0.26339260767284967, 8);
  });

  it('recovers known coefficients from generated data, at any feature scale', async () => {
    const n = 2000;
    const x1 = normals(n, 1);
    const x2 = normals(n, 2).map((v) => 1e6 + v * 1e-3);
    const x3 = normals(n, 3).map((v) => v * 1000);
    const noise = normals(n, 4);
    const y = Float64Array.from(
      { length: n },
      (_, i) => 3 * x1[i]! - 2000 * (x2[i]! - 1e6) + 0.01 * x3[i]! + 7 + 1e-3 * noise[i]!,
    );
    const f = frameOf({ x1: Array.from(x1), x2: Array.from(x2), x3: Array.from(x3) });
    const p = await linearRegression.fit(f, { task: 'regression', values: y }, { fit_intercept: true }, ctx);
    expect(p.coef[0]).toBeCloseTo(3, 3);
    expect(p.coef[1]).toBeCloseTo(-2000, 0);
    expect(p.coef[2]).toBeCloseTo(0.01, 5);
    const out = linearRegression.predict(f, p);
    expect(out.values[0]).toBeCloseTo(y[0]!, 1);
    expect(ctx.progressed.at(-1)).toBe(1);
  });

  it('survives exactly collinear features', async () => {
    const f = frameOf({ a: [1, 2, 3, 4], b: [2, 4, 6, 8] });
    const p = await linearRegression.fit(
      f,
      { task: 'regression', values: Float64Array.from([1, 2, 3, 4]) },
      { fit_intercept: true },
      ctx,
    );
    const out = linearRegression.predict(f, p).values;
    for (const [i, v] of [1, 2, 3, 4].entries()) expect(out[i]).toBeCloseTo(v, 6);
  });

  it('refuses a categorical feature (suggesting one_hot) and a missing value (suggesting impute)', () => {
    const cat = frameOf({ a: [1, 2, 3], color: ['r', 'g', 'r'] });
    const t: Target = { task: 'regression', values: Float64Array.from([1, 2, 3]) };
    expect(() => linearRegression.fit(cat, t, { fit_intercept: true }, ctx)).toThrow(
      expect.objectContaining({
        code: 'non_numeric_feature',
        message: expect.stringMatching(/'color'.*one_hot/),
      }),
    );
    const nan = frameOf({ a: [1, null, 3] });
    expect(() => linearRegression.fit(nan, t, { fit_intercept: true }, ctx)).toThrow(
      expect.objectContaining({ code: 'missing_values', message: expect.stringMatching(/'a'.*impute/) }),
    );
  });
});

describe('ridge', () => {
  it('matches scikit-learn’s Ridge(alpha=2)', async () => {
    const p = await ridge.fit(frame, target, ridge.config.parse({ alpha: 2 }), ctx);
    expect(p.coef[0]).toBeCloseTo(1.4114658508956672, 10);
    expect(p.coef[1]).toBeCloseTo(0.5470559164374809, 10);
    expect(p.intercept).toBeCloseTo(0.29189316356356176, 10);
  });

  it('predicts at apply from the named columns, whatever their order, and needs them', async () => {
    const p = await ridge.fit(frame, target, ridge.config.parse({}), ctx);
    const swapped = frameOf({ b: [1], a: [2] });
    expect(ridge.predict(swapped, p).values[0]).toBeCloseTo(p.intercept + 2 * p.coef[0]! + p.coef[1]!, 12);
    expect(() => ridge.predict(frameOf({ a: [1] }), p)).toThrow(
      expect.objectContaining({ code: 'missing_column' }),
    );
    expect(ridge.config.safeParse({ alpha: -1 }).success).toBe(false);
  });
});
