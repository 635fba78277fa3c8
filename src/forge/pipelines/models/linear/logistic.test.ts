import { describe, expect, it } from 'vitest';
import { frameOf, normals, testContext } from '../../test-frames.js';
import type { Target } from '../../types.js';
import { logisticRegression } from './logistic.js';

// 12 rows fitted with scikit-learn 1.2.1 (lbfgs, tol 1e-12) for the reference values below.
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
const frame = frameOf({ a: X.map((r) => r[0] as number), b: X.map((r) => r[1] as number) });
const target = (y: number[], k: number): Target => ({
  task: 'classification',
  values: Float64Array.from(y),
  labels: Array.from({ length: k }, (_, i) => `c${i}`),
});
const cfg = (c: object = {}) => logisticRegression.config.parse({ tol: 1e-10, max_iter: 1000, ...c });

describe('logistic_regression', () => {
  it('binary: matches scikit-learn’s coefficients', async () => {
    const p = await logisticRegression.fit(
      frame,
      target([1, 0, 0, 1, 0, 1, 0, 1, 1, 1, 0, 0], 2),
      cfg(),
      testContext(),
    );
    expect(p.coef).toHaveLength(1);
    expect(p.coef[0]?.[0]).toBeCloseTo(0.39611786155779066, 6);
    expect(p.coef[0]?.[1]).toBeCloseTo(0.33523070592888476, 6);
    expect(p.intercept[0]).toBeCloseTo(-0.10272461802089142, 6);
  });

  it('binary with balanced class weights and C=0.5', async () => {
    const y = [1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0];
    const p = await logisticRegression.fit(
      frame,
      target(y, 2),
      cfg({ C: 0.5, class_weight: 'balanced' }),
      testContext(),
    );
    expect(p.coef[0]?.[0]).toBeCloseTo(0.846124146653449, 6);
    expect(p.coef[0]?.[1]).toBeCloseTo(0.056354137751208795, 6);
    expect(p.intercept[0]).toBeCloseTo(-0.43504220901037066, 6);
  });

  it('multinomial: matches scikit-learn’s softmax fit and probabilities', async () => {
    const y = [0, 1, 2, 0, 1, 2, 2, 1, 0, 1, 0, 2];
    const p = await logisticRegression.fit(frame, target(y, 3), cfg({ C: 2 }), testContext());
    const ref = [
      [0.6547462642124326, 1.602801093986272],
      [0.07735419109528648, -1.6632485425885262],
      [-0.7321004553077194, 0.06044744860225427],
    ];
    for (const [r, row] of ref.entries())
      for (const [j, v] of row.entries()) expect(p.coef[r]?.[j]).toBeCloseTo(v, 5);
    for (const [r, v] of [-0.7794027392754688, 0.24882385126959172, 0.5305788880058768].entries())
      expect(p.intercept[r]).toBeCloseTo(v, 5);
    const out = logisticRegression.predict(frame, p);
    expect(Array.from(out.probabilities?.[0] ?? [])).toEqual([
      expect.closeTo(0.7503872702150576, 5),
      expect.closeTo(0.031213803712170037, 5),
      expect.closeTo(0.2183989260727724, 5),
    ]);
    expect(out.values[0]).toBe(0);
    expect(out.values[1]).toBe(1);
  });

  it('separates a separable set with accuracy above 0.95, reporting loss and progress', async () => {
    const n = 1000;
    const x1 = normals(n, 11);
    const x2 = normals(n, 12);
    const y = Array.from({ length: n }, (_, i) => (2 * x1[i]! - x2[i]! > 0 ? 1 : 0));
    const f = frameOf({ x1: Array.from(x1), x2: Array.from(x2) });
    const ctx = testContext();
    const p = await logisticRegression.fit(f, target(y, 2), logisticRegression.config.parse({ C: 100 }), ctx);
    const out = logisticRegression.predict(f, p).values;
    const acc = y.filter((v, i) => v === out[i]).length / n;
    expect(acc).toBeGreaterThan(0.95);
    expect(ctx.metrics.some((m) => m.name === 'train_loss')).toBe(true);
    const losses = ctx.metrics.map((m) => m.value);
    expect(losses.at(-1)).toBeLessThan(losses[0]!);
    expect(ctx.logs.join()).toMatch(/converged/);
  });

  it('stops when cancelled', async () => {
    const ac = new AbortController();
    ac.abort(new Error('cancelled'));
    await expect(async () =>
      logisticRegression.fit(
        frame,
        target([1, 0, 0, 1, 0, 1, 0, 1, 1, 1, 0, 0], 2),
        cfg(),
        testContext({ signal: ac.signal }),
      ),
    ).rejects.toThrow('cancelled');
  });
});
