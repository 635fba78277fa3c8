import { describe, expect, it } from 'vitest';
import type { Frame } from '../../../frame/frame.js';
import { accuracy, r2 } from '../../metrics.js';
import { createRng } from '../../random.js';
import type { Target } from '../../types.js';
import { logisticRegression } from '../linear/logistic.js';
import { recordingContext } from '../trees/synthetic.js';
import { mlpClassifier, mlpRegressor } from './steps.js';

/** Points inside a circle against points outside it, on two of three features (the third is noise). */
function circle(n: number, seed: number): { frame: Frame; y: Float64Array } {
  const r = createRng(seed);
  const cols = [0, 1, 2].map(() => new Float64Array(n));
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (const c of cols) c[i] = 4 * r.next() - 2;
    // Offsets and scales on purpose: the model standardises its inputs itself.
    y[i] = cols[0]![i]! ** 2 + cols[1]![i]! ** 2 < 1.6 ? 1 : 0;
    cols[0]![i] = cols[0]![i]! * 100 + 1000;
  }
  return {
    frame: { length: n, columns: cols.map((values, j) => ({ name: `x${j}`, type: 'numeric', values })) },
    y,
  };
}

const labels = (y: Float64Array, names = ['out', 'in']): Target => ({
  task: 'classification',
  values: y,
  labels: names,
});

describe('mlp_classifier', () => {
  const train = circle(2000, 1);
  const test = circle(1000, 2);

  it('learns a circle within a few seconds, where a linear model cannot', async () => {
    const r = recordingContext(1);
    const started = performance.now();
    const p = await mlpClassifier.fit(
      train.frame,
      labels(train.y),
      mlpClassifier.config.parse({ epochs: 40, learning_rate: 0.01 }),
      r.ctx,
    );
    expect(performance.now() - started).toBeLessThan(20_000);
    const out = mlpClassifier.predict(test.frame, p);
    expect(accuracy(test.y, out.values)).toBeGreaterThan(0.9);
    const lp = await logisticRegression.fit(
      train.frame,
      labels(train.y),
      logisticRegression.config.parse({}),
      recordingContext().ctx,
    );
    expect(accuracy(test.y, logisticRegression.predict(test.frame, lp).values)).toBeLessThan(0.75);
    const pr = out.probabilities![0]!;
    expect(pr[0]! + pr[1]!).toBeCloseTo(1, 12);
    const losses = r.metrics.filter((m) => m.name === 'train_loss');
    expect(losses).toHaveLength(40);
    expect(losses.at(-1)!.value).toBeLessThan(losses[0]!.value / 2);
    expect(r.progress.at(-1)).toBe(1);
  });

  it('is reproducible from the seed, and its params survive JSON with identical predictions', async () => {
    const cfg = mlpClassifier.config.parse({ hidden_layers: [16, 8], activation: 'tanh', epochs: 5 });
    const a = await mlpClassifier.fit(train.frame, labels(train.y), cfg, recordingContext(5).ctx);
    const b = await mlpClassifier.fit(train.frame, labels(train.y), cfg, recordingContext(5).ctx);
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    const c = await mlpClassifier.fit(train.frame, labels(train.y), cfg, recordingContext(6).ctx);
    expect(JSON.stringify(c)).not.toBe(JSON.stringify(a));
    expect(a.layers.map((l) => [l.inputs, l.outputs])).toEqual([
      [3, 16],
      [16, 8],
      [8, 2],
    ]);
    const back = mlpClassifier.params!.parse(JSON.parse(JSON.stringify(a)));
    const x = mlpClassifier.predict(test.frame, a);
    const y = mlpClassifier.predict(test.frame, back);
    expect(y.probabilities!.map((row) => Array.from(row))).toEqual(
      x.probabilities!.map((row) => Array.from(row)),
    );
  });

  it('stops early when the validation loss stalls and keeps the best epoch', async () => {
    const r = recordingContext(2);
    const noise = Float64Array.from(train.y, (_, i) => (Math.imul(i + 1, 2654435761) >>> 31) & 1);
    await mlpClassifier.fit(
      train.frame,
      labels(noise),
      mlpClassifier.config.parse({
        epochs: 200,
        early_stopping: true,
        n_iter_no_change: 3,
        learning_rate: 0.01,
      }),
      r.ctx,
    );
    const validation = r.metrics.filter((m) => m.name === 'validation_loss');
    expect(validation.length).toBeGreaterThan(3);
    expect(validation.length).toBeLessThan(200);
    expect(r.logs.join('\n')).toMatch(/early stopping/);
  });

  it('stops within an epoch when the signal aborts', async () => {
    const r = recordingContext(0, 2 / 100);
    await expect(
      mlpClassifier.fit(train.frame, labels(train.y), mlpClassifier.config.parse({ epochs: 100 }), r.ctx),
    ).rejects.toMatchObject({ name: 'AbortError' });
    expect(r.progress).toHaveLength(2);
  });

  it('refuses missing values and damaged params', async () => {
    const holed: Frame = {
      length: 2,
      columns: [{ name: 'a', type: 'numeric', values: Float64Array.of(1, Number.NaN) }],
    };
    await expect(
      mlpClassifier.fit(
        holed,
        labels(Float64Array.of(0, 1)),
        mlpClassifier.config.parse({}),
        recordingContext().ctx,
      ),
    ).rejects.toMatchObject({ code: 'missing_values' });
    const p = await mlpClassifier.fit(
      train.frame,
      labels(train.y),
      mlpClassifier.config.parse({ epochs: 1, hidden_layers: [4] }),
      recordingContext().ctx,
    );
    const damaged = JSON.parse(JSON.stringify(p));
    damaged.layers[1].inputs = 5;
    expect(mlpClassifier.params!.safeParse(damaged).success).toBe(false);
  });
});

describe('mlp_regressor', () => {
  it('fits a smooth function on unscaled inputs and target', async () => {
    const r = createRng(3);
    const n = 2000;
    const a = Float64Array.from({ length: n }, () => 6 * r.next() - 3);
    const b = Float64Array.from({ length: n }, () => 1000 * r.next());
    const y = Float64Array.from(a, (v, i) => 500 * Math.sin(v) + b[i]! / 2 + 10_000);
    const frame: Frame = {
      length: n,
      columns: [
        { name: 'a', type: 'numeric', values: a },
        { name: 'b', type: 'numeric', values: b },
      ],
    };
    const take = (from: number, to: number): Frame => ({
      length: to - from,
      columns: frame.columns.map(
        (c) => ({ ...c, values: (c.values as Float64Array).slice(from, to) }) as typeof c,
      ),
    });
    const p = await mlpRegressor.fit(
      take(0, 1500),
      { task: 'regression', values: y.slice(0, 1500) },
      mlpRegressor.config.parse({ epochs: 60, learning_rate: 0.01, hidden_layers: [32] }),
      recordingContext(1).ctx,
    );
    expect(p.classes).toBeUndefined();
    expect(r2(y.slice(1500), mlpRegressor.predict(take(1500, n), p).values)).toBeGreaterThan(0.9);
  });
});
