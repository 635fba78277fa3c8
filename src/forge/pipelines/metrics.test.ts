import { describe, expect, it } from 'vitest';
import {
  accuracy,
  binaryRocAuc,
  classificationMetrics,
  classificationReport,
  confusionMatrix,
  logLoss,
  mae,
  r2,
  rmse,
  rocAuc,
} from './metrics.js';

// Reference values computed once with scikit-learn 1.2.1 on the same inputs.
const yt = [0, 1, 2, 2, 1, 0, 1, 2, 0, 0];
const yp = [0, 2, 2, 1, 1, 0, 1, 2, 1, 0];
const P = [
  [0.7, 0.2, 0.1],
  [0.1, 0.3, 0.6],
  [0.2, 0.2, 0.6],
  [0.3, 0.4, 0.3],
  [0.2, 0.5, 0.3],
  [0.6, 0.3, 0.1],
  [0.2, 0.7, 0.1],
  [0.1, 0.1, 0.8],
  [0.4, 0.5, 0.1],
  [0.5, 0.25, 0.25],
];

describe('classification metrics', () => {
  it('accuracy and the confusion matrix (rows true, columns predicted)', () => {
    expect(accuracy(yt, yp)).toBe(0.7);
    expect(confusionMatrix(yt, yp, 3)).toEqual([
      [3, 1, 0],
      [0, 2, 1],
      [0, 1, 2],
    ]);
  });

  it('precision, recall and F1 per class, macro and weighted', () => {
    const r = classificationReport(yt, yp, 3);
    // Class 1: tp 2 of 4 predicted (rows 3, 4, 6, 8) and of 3 actual (rows 1, 4, 6).
    expect(r.precision).toEqual([1, 0.5, 2 / 3]);
    expect(r.recall).toEqual([0.75, 2 / 3, 2 / 3]);
    expect(r.f1[0]).toBeCloseTo(0.8571428571428571, 15);
    expect(r.f1[1]).toBeCloseTo(0.5714285714285715, 15);
    expect(r.support).toEqual([4, 3, 3]);
    expect(r.macro.precision).toBeCloseTo(0.7222222222222222, 15);
    expect(r.macro.recall).toBeCloseTo(0.6944444444444443, 15);
    expect(r.macro.f1).toBeCloseTo(0.6984126984126985, 15);
    expect(r.weighted.precision).toBeCloseTo(0.75, 15);
    expect(r.weighted.recall).toBeCloseTo(0.7, 15);
    expect(r.weighted.f1).toBeCloseTo(0.7142857142857142, 15);
  });

  it('a class never predicted scores 0 precision, and absent classes stay out of the macro mean', () => {
    const r = classificationReport([0, 0, 1], [0, 0, 0], 3);
    expect(r.precision).toEqual([2 / 3, 0, 0]);
    // Classes 0 and 1 occur; class 2 does not, so the macro mean is over two.
    expect(r.macro.recall).toBe(0.5);
  });

  it('binary ROC AUC with tied scores sharing ranks', () => {
    const y = [0, 0, 1, 1, 0, 1, 0, 1];
    const s = [0.1, 0.4, 0.35, 0.8, 0.4, 0.9, 0.2, 0.4];
    expect(
      binaryRocAuc(
        y.map((v) => v === 1),
        s,
      ),
    ).toBe(0.8125);
    expect(
      rocAuc(
        y,
        s.map((p) => [1 - p, p]),
        2,
      ),
    ).toBe(0.8125);
    // Perfect and reversed rankings by hand.
    expect(binaryRocAuc([false, true], [0.2, 0.9])).toBe(1);
    expect(binaryRocAuc([false, true], [0.9, 0.2])).toBe(0);
    expect(binaryRocAuc([true, true], [0.2, 0.9])).toBeNull();
  });

  it('multiclass ROC AUC is the macro mean of one-vs-rest', () => {
    expect(rocAuc(yt, P, 3)).toBeCloseTo(0.9206349206349206, 15);
  });

  it('log loss, with probabilities clipped away from 0 and 1', () => {
    expect(logLoss(yt, P)).toBeCloseTo(0.6668675388369574, 14);
    const s = [0.1, 0.4, 0.35, 0.8, 0.4, 0.9, 0.2, 0.4];
    expect(
      logLoss(
        [0, 0, 1, 1, 0, 1, 0, 1],
        s.map((p) => [1 - p, p]),
      ),
    ).toBeCloseTo(0.4555965297311108, 14);
    expect(logLoss([0], [[0, 1]])).toBeCloseTo(-Math.log(1e-15), 6);
    expect(logLoss([1], [[0, 1]])).toBeCloseTo(0, 12);
  });

  it('the trainer’s set', () => {
    const m = classificationMetrics(yt, yp, P, 3);
    expect(m).toMatchObject({ accuracy: 0.7, confusion_matrix: confusionMatrix(yt, yp, 3) });
    expect(m.f1_macro).toBeCloseTo(0.6984126984126985, 15);
    expect(
      classificationMetrics(
        [0, 0],
        [0, 0],
        [
          [1, 0],
          [1, 0],
        ],
        2,
      ).roc_auc,
    ).toBeNull();
  });
});

describe('regression metrics', () => {
  const a = [3, -0.5, 2, 7, 4.2];
  const b = [2.5, 0, 2, 8, 3.9];

  it('RMSE, MAE and R² as scikit-learn computes them', () => {
    expect(rmse(a, b)).toBeCloseTo(0.5639148871948674, 14);
    expect(mae(a, b)).toBeCloseTo(0.46, 14);
    expect(r2(a, b)).toBeCloseTo(0.9480256276150627, 14);
  });

  it('by hand, and R² of a constant truth', () => {
    expect(rmse([0, 0], [3, 4])).toBeCloseTo(Math.sqrt(12.5), 14);
    expect(mae([1, 2], [2, 0])).toBe(1.5);
    expect(r2([1, 2, 3], [1, 2, 3])).toBe(1);
    expect(r2([1, 2, 3], [2, 2, 2])).toBe(0);
    expect(r2([5, 5], [5, 5])).toBe(1);
    expect(r2([5, 5], [4, 5])).toBe(0);
  });
});
