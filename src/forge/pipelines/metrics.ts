/**
 * Evaluation metrics, defined as scikit-learn defines them so numbers compare across tools. Classes
 * are indices 0..k-1; probabilities are one array per row in class order.
 */
type Values = ArrayLike<number>;

export function accuracy(yTrue: Values, yPred: Values): number {
  let hit = 0;
  for (let i = 0; i < yTrue.length; i++) if (yTrue[i] === yPred[i]) hit++;
  return yTrue.length ? hit / yTrue.length : Number.NaN;
}

/** counts[t][p]: rows of true class t predicted as p. */
export function confusionMatrix(yTrue: Values, yPred: Values, k: number): number[][] {
  const m = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let i = 0; i < yTrue.length; i++) {
    const row = m[yTrue[i] as number] as number[];
    const p = yPred[i] as number;
    row[p] = (row[p] as number) + 1;
  }
  return m;
}

export interface Averages {
  precision: number;
  recall: number;
  f1: number;
}

export interface ClassReport {
  /** Per class index 0..k-1; a ratio with a zero denominator counts as 0. */
  precision: number[];
  recall: number[];
  f1: number[];
  support: number[];
  /** Over the classes that occur in the truth or the predictions (scikit-learn's default labels). */
  macro: Averages;
  /** The same, each class weighted by its support. */
  weighted: Averages;
}

const ratio = (a: number, b: number) => (b === 0 ? 0 : a / b);

export function classificationReport(yTrue: Values, yPred: Values, k: number): ClassReport {
  const m = confusionMatrix(yTrue, yPred, k);
  const precision: number[] = [];
  const recall: number[] = [];
  const f1: number[] = [];
  const support: number[] = [];
  for (let c = 0; c < k; c++) {
    const tp = (m[c] as number[])[c] as number;
    let predicted = 0;
    for (let t = 0; t < k; t++) predicted += (m[t] as number[])[c] as number;
    const actual = (m[c] as number[]).reduce((a, b) => a + b, 0);
    const p = ratio(tp, predicted);
    const r = ratio(tp, actual);
    precision.push(p);
    recall.push(r);
    f1.push(ratio(2 * tp, predicted + actual));
    support.push(actual);
  }
  const present = new Set<number>();
  for (let i = 0; i < yTrue.length; i++) present.add(yTrue[i] as number).add(yPred[i] as number);
  const classes = [...present];
  const total = classes.reduce((s, c) => s + (support[c] as number), 0);
  const avg = (v: number[], weighted: boolean) =>
    weighted
      ? ratio(
          classes.reduce((s, c) => s + (v[c] as number) * (support[c] as number), 0),
          total,
        )
      : ratio(
          classes.reduce((s, c) => s + (v[c] as number), 0),
          classes.length,
        );
  const averages = (weighted: boolean): Averages => ({
    precision: avg(precision, weighted),
    recall: avg(recall, weighted),
    f1: avg(f1, weighted),
  });
  return { precision, recall, f1, support, macro: averages(false), weighted: averages(true) };
}

/**
 * Area under the ROC curve of `scores` for the positive rows: the Mann–Whitney statistic with tied
 * scores sharing their average rank. Null when only one of the two classes occurs.
 */
export function binaryRocAuc(positive: ArrayLike<boolean>, scores: Values): number | null {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort(
    (a, b) => (scores[a] as number) - (scores[b] as number),
  );
  let rankSum = 0;
  let pos = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1] as number] === scores[order[i] as number]) j++;
    const rank = (i + j) / 2 + 1;
    for (let t = i; t <= j; t++)
      if (positive[order[t] as number]) {
        rankSum += rank;
        pos++;
      }
    i = j + 1;
  }
  const neg = n - pos;
  if (pos === 0 || neg === 0) return null;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

/**
 * ROC AUC: for two classes, of the second class's probability; for more, the macro mean of each
 * class against the rest, over the classes for which it is defined. Null when none is.
 */
export function rocAuc(yTrue: Values, proba: readonly Values[], k: number): number | null {
  const column = (c: number) => Array.from(proba, (p) => p[c] as number);
  const is = (c: number) => Array.from(yTrue, (y) => y === c);
  if (k === 2) return binaryRocAuc(is(1), column(1));
  const aucs = Array.from({ length: k }, (_, c) => binaryRocAuc(is(c), column(c))).filter(
    (a): a is number => a !== null,
  );
  return aucs.length ? aucs.reduce((a, b) => a + b, 0) / aucs.length : null;
}

/** Mean negative log-probability of the true class; probabilities clipped to [eps, 1 - eps] and renormalised. */
export function logLoss(yTrue: Values, proba: readonly Values[], eps = 1e-15): number {
  let s = 0;
  for (let i = 0; i < yTrue.length; i++) {
    const p = proba[i] as Values;
    let sum = 0;
    for (let c = 0; c < p.length; c++) sum += Math.min(1 - eps, Math.max(eps, p[c] as number));
    const pt = Math.min(1 - eps, Math.max(eps, p[yTrue[i] as number] as number)) / sum;
    s -= Math.log(pt);
  }
  return s / yTrue.length;
}

export function rmse(yTrue: Values, yPred: Values): number {
  let s = 0;
  for (let i = 0; i < yTrue.length; i++) s += ((yTrue[i] as number) - (yPred[i] as number)) ** 2;
  return Math.sqrt(s / yTrue.length);
}

export function mae(yTrue: Values, yPred: Values): number {
  let s = 0;
  for (let i = 0; i < yTrue.length; i++) s += Math.abs((yTrue[i] as number) - (yPred[i] as number));
  return s / yTrue.length;
}

/** Coefficient of determination; a constant truth scores 1 if predicted exactly, else 0 (as scikit-learn). */
export function r2(yTrue: Values, yPred: Values): number {
  const n = yTrue.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += yTrue[i] as number;
  mean /= n;
  let res = 0;
  let tot = 0;
  for (let i = 0; i < n; i++) {
    res += ((yTrue[i] as number) - (yPred[i] as number)) ** 2;
    tot += ((yTrue[i] as number) - mean) ** 2;
  }
  if (tot === 0) return res === 0 ? 1 : 0;
  return 1 - res / tot;
}

export interface ClassificationMetrics {
  accuracy: number;
  f1_macro: number;
  precision_macro: number;
  recall_macro: number;
  /** Null when the evaluated rows hold a single class. */
  roc_auc: number | null;
  log_loss: number | null;
  confusion_matrix: number[][];
}

export function classificationMetrics(
  yTrue: Values,
  yPred: Values,
  proba: readonly Values[] | undefined,
  k: number,
): ClassificationMetrics {
  const report = classificationReport(yTrue, yPred, k);
  return {
    accuracy: accuracy(yTrue, yPred),
    f1_macro: report.macro.f1,
    precision_macro: report.macro.precision,
    recall_macro: report.macro.recall,
    roc_auc: proba ? rocAuc(yTrue, proba, k) : null,
    log_loss: proba ? logLoss(yTrue, proba) : null,
    confusion_matrix: confusionMatrix(yTrue, yPred, k),
  };
}

export interface RegressionMetrics {
  rmse: number;
  mae: number;
  r2: number;
}

export const regressionMetrics = (yTrue: Values, yPred: Values): RegressionMetrics => ({
  rmse: rmse(yTrue, yPred),
  mae: mae(yTrue, yPred),
  r2: r2(yTrue, yPred),
});
