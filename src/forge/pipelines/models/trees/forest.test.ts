import { describe, expect, it } from 'vitest';
import type { Column, Frame } from '../../../frame/frame.js';
import { accuracy, r2 } from '../../metrics.js';
import type { Target } from '../../types.js';
import { randomForestClassifier, randomForestRegressor } from './forest-steps.js';
import {
  nonlinearClassification,
  recordingContext,
  type Synthetic,
  smoothRegression,
  splitAt,
} from './synthetic.js';

const classes = (s: Synthetic, labels = ['0', '1']): Target => ({
  task: 'classification',
  values: s.y,
  labels,
});
const cfg = (over: Record<string, unknown> = {}) => randomForestClassifier.config.parse(over);
const rcfg = (over: Record<string, unknown> = {}) => randomForestRegressor.config.parse(over);

describe('random_forest_classifier', () => {
  const [train, test] = splitAt(nonlinearClassification({ n: 6000, seed: 11 }), 4000);

  it('learns a nonlinear boundary, probabilities averaging the trees', async () => {
    const r = recordingContext(1);
    const p = await randomForestClassifier.fit(train.frame, classes(train), cfg({ n_estimators: 40 }), r.ctx);
    const out = randomForestClassifier.predict(test.frame, p);
    expect(accuracy(test.y, out.values)).toBeGreaterThan(0.85);
    expect(p.trees.length).toBe(40);
    expect(r.progress.length).toBe(40);
    expect(r.progress.at(-1)).toBe(1);
    const pr = out.probabilities![0]!;
    expect(pr[0]! + pr[1]!).toBeCloseTo(1, 12);
    // Fully grown trees on bootstrap samples fit their training rows almost exactly.
    const seen = randomForestClassifier.predict(train.frame, p);
    expect(accuracy(train.y, seen.values)).toBeGreaterThan(0.99);
  });

  it('limits depth and leaf size when asked', async () => {
    const p = await randomForestClassifier.fit(
      train.frame,
      classes(train),
      cfg({ n_estimators: 5, max_depth: 3 }),
      recordingContext().ctx,
    );
    for (const t of p.trees) expect(t.feature.length).toBeLessThanOrEqual(15);
    const big = await randomForestClassifier.fit(
      train.frame,
      classes(train),
      cfg({ n_estimators: 3, min_samples_leaf: 200, bootstrap: false }),
      recordingContext().ctx,
    );
    // Without bootstrap every row counts once: no leaf may hold fewer than 200 rows.
    for (const t of big.trees)
      expect(t.feature.filter((f) => f === -1).length).toBeLessThanOrEqual(4000 / 200);
  });

  it('handles three classes with class frequencies in the leaves', async () => {
    const x0 = (s: Synthetic) => s.frame.columns[0]!.values as Float64Array;
    const y3 = train.y.map((c, i) => (x0(train)[i]! > 1 ? 2 : c));
    const yt = test.y.map((c, i) => (x0(test)[i]! > 1 ? 2 : c));
    const p = await randomForestClassifier.fit(
      train.frame,
      { task: 'classification', values: y3, labels: ['a', 'b', 'c'] },
      cfg({ n_estimators: 30, max_features: 0.5 }),
      recordingContext().ctx,
    );
    expect(p.dim).toBe(3);
    const out = randomForestClassifier.predict(test.frame, p);
    expect(accuracy(yt, out.values)).toBeGreaterThan(0.8);
    const sum = out.probabilities![3]!.reduce((a, b) => a + b, 0);
    expect(sum).toBeCloseTo(1, 12);
  });

  it('takes missing values and is deterministic for a seed; params survive JSON', async () => {
    const holed: Frame = {
      length: train.frame.length,
      columns: train.frame.columns.map((c, j) => {
        if (j > 2) return c;
        const v = (c.values as Float64Array).slice();
        for (let i = j; i < v.length; i += 4) v[i] = Number.NaN;
        return { ...c, values: v } as Column;
      }),
    };
    const c = cfg({ n_estimators: 15 });
    const a = await randomForestClassifier.fit(holed, classes(train), c, recordingContext(3).ctx);
    const b = await randomForestClassifier.fit(holed, classes(train), c, recordingContext(3).ctx);
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    const other = await randomForestClassifier.fit(holed, classes(train), c, recordingContext(4).ctx);
    expect(JSON.stringify(other)).not.toBe(JSON.stringify(a));
    expect(accuracy(test.y, randomForestClassifier.predict(test.frame, a).values)).toBeGreaterThan(0.8);

    const back = randomForestClassifier.params!.parse(JSON.parse(JSON.stringify(a)));
    const x = randomForestClassifier.predict(holed, a);
    const y = randomForestClassifier.predict(holed, back);
    expect(y.probabilities!.map((r) => Array.from(r))).toEqual(x.probabilities!.map((r) => Array.from(r)));
  });

  it('stops between trees when the signal aborts', async () => {
    const r = recordingContext(0, 2 / 100);
    await expect(
      randomForestClassifier.fit(train.frame, classes(train), cfg({ n_estimators: 100 }), r.ctx),
    ).rejects.toMatchObject({ name: 'AbortError' });
    expect(r.progress.length).toBe(2);
  });

  it('refuses a max_features count above the number of features', async () => {
    await expect(
      randomForestClassifier.fit(
        train.frame,
        classes(train),
        cfg({ max_features: 50 }),
        recordingContext().ctx,
      ),
    ).rejects.toMatchObject({ code: 'invalid_pipeline_spec' });
    expect(randomForestClassifier.config.safeParse({ max_features: 2.5 }).success).toBe(false);
  });
});

describe('random_forest_regressor', () => {
  it('fits a smooth function as well as scikit-learn does', async () => {
    const [train, test] = splitAt(smoothRegression({ n: 6000, seed: 12, noise: 0.1 }), 4000);
    const p = await randomForestRegressor.fit(
      train.frame,
      { task: 'regression', values: train.y },
      rcfg({ n_estimators: 30 }),
      recordingContext().ctx,
    );
    expect(p.classes).toBeUndefined();
    // scikit-learn's RandomForestRegressor (30 trees, same rows) scores 0.73 here; ours 0.727.
    expect(r2(test.y, randomForestRegressor.predict(test.frame, p).values)).toBeGreaterThan(0.7);
  });
});
