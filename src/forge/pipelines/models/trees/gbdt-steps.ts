/** The `gbdt_classifier` and `gbdt_regressor` steps over the boosting in gbdt.ts. */
import { z } from 'zod';
import type { Frame } from '../../../frame/frame.js';
import { defineModel } from '../../steps/util.js';
import type { FitContext, ModelOutput, Target } from '../../types.js';
import { classWeightConfig, featureColumns, fitInputs, fromProbabilities } from './common.js';
import { fitGbdt } from './gbdt.js';
import { accumulate, type PackedTrees, packTrees, treeJsonSchema, treeProblem } from './tree.js';

/** Early stopping by default only when there are enough rows to spare a validation set (scikit-learn's rule). */
const AUTO_EARLY_STOPPING_ROWS = 10_000;

const common = {
  n_estimators: z.number().int().min(1).max(10_000).default(100).describe('Boosting rounds'),
  learning_rate: z.number().positive().max(10).default(0.1).describe('Shrinkage of each tree'),
  max_depth: z
    .number()
    .int()
    .min(1)
    .max(64)
    .nullable()
    .default(6)
    .describe('Deepest a tree may grow; null: limited by max_leaf_nodes only'),
  max_leaf_nodes: z.number().int().min(2).max(65_536).nullable().default(31),
  min_samples_leaf: z.number().int().min(1).max(1_000_000).default(20),
  l2_regularization: z.number().min(0).max(1e6).default(0),
  max_bins: z.number().int().min(2).max(255).default(255).describe('Bins per feature (plus one for missing)'),
  growth: z
    .enum(['leafwise', 'depthwise'])
    .default('leafwise')
    .describe('leafwise splits the best leaf next; depthwise fills each level first'),
  early_stopping: z
    .union([z.literal('auto'), z.boolean()])
    .default('auto')
    .describe(`auto: on when there are more than ${AUTO_EARLY_STOPPING_ROWS} rows`),
  validation_fraction: z.number().gt(0).lt(1).default(0.1),
  n_iter_no_change: z.number().int().min(1).max(1000).default(10),
  tol: z.number().min(0).max(1).default(1e-7),
  scoring: z.enum(['loss']).default('loss').describe('What early stopping watches on the validation rows'),
};

const classifierConfig = z.strictObject({ ...common, class_weight: classWeightConfig });
const regressorConfig = z.strictObject(common);
type ClassifierConfig = z.infer<typeof classifierConfig>;
type RegressorConfig = z.infer<typeof regressorConfig>;

const params = z
  .object({
    features: z.array(z.string()).min(1),
    loss: z.enum(['squared_error', 'log_loss']),
    /** Classifiers: the number of classes. */
    classes: z.number().int().min(2).optional(),
    /** Raw score before any tree, one per output (1, or one per class beyond two). */
    baseline: z.array(z.number()).min(1),
    /** Round-major: tree `r * baseline.length + k` adds to output k. */
    trees: z.array(treeJsonSchema),
    rounds: z.number().int().min(0),
  })
  .superRefine((p, ctx) => {
    const dim = p.baseline.length;
    if (p.loss === 'log_loss' && p.classes === undefined)
      ctx.addIssue({ code: 'custom', path: ['classes'], message: 'a log-loss model names its classes' });
    const expected = p.loss === 'log_loss' && (p.classes ?? 0) > 2 ? p.classes! : 1;
    if (dim !== expected)
      ctx.addIssue({ code: 'custom', path: ['baseline'], message: `expected ${expected} baseline values` });
    if (p.trees.length !== p.rounds * dim)
      ctx.addIssue({ code: 'custom', message: `expected ${p.rounds * dim} trees, found ${p.trees.length}` });
    p.trees.forEach((t, i) => {
      const problem = treeProblem(t, p.features.length, 1);
      if (problem) ctx.addIssue({ code: 'custom', path: ['trees', i], message: problem });
    });
  });
type Params = z.infer<typeof params>;

function options(cfg: RegressorConfig, n: number) {
  return {
    nEstimators: cfg.n_estimators,
    learningRate: cfg.learning_rate,
    maxDepth: cfg.max_depth,
    maxLeafNodes: cfg.max_leaf_nodes,
    minSamplesLeaf: cfg.min_samples_leaf,
    l2: cfg.l2_regularization,
    maxBins: cfg.max_bins,
    leafwise: cfg.growth === 'leafwise',
    earlyStopping: cfg.early_stopping === 'auto' ? n > AUTO_EARLY_STOPPING_ROWS : cfg.early_stopping,
    validationFraction: cfg.validation_fraction,
    nIterNoChange: cfg.n_iter_no_change,
    tol: cfg.tol,
  };
}

async function fitStep(
  step: string,
  frame: Frame,
  target: Target,
  cfg: ClassifierConfig | RegressorConfig,
  ctx: FitContext,
): Promise<Params> {
  const { names, columns, classification, k, weights } = fitInputs(
    step,
    frame,
    target,
    'class_weight' in cfg ? cfg.class_weight : null,
  );
  const model = await fitGbdt(
    columns,
    target.values,
    {
      ...options(cfg, frame.length),
      loss: classification ? 'log_loss' : 'squared_error',
      nClasses: k,
      weights,
    },
    ctx,
  );
  return {
    features: names,
    loss: classification ? 'log_loss' : 'squared_error',
    ...(classification ? { classes: k } : {}),
    baseline: model.baseline,
    trees: model.trees,
    rounds: model.rounds,
  };
}

/** Packed trees per params object: serving predicts many times with the same params. */
const packed = new WeakMap<Params, PackedTrees>();

/** Raw scores, row-major (`dim` per row). */
function rawScores(frame: Frame, p: Params, step: string): { raw: Float64Array; dim: number } {
  const { columns } = featureColumns(frame, step, p.features);
  let trees = packed.get(p);
  if (!trees) {
    trees = packTrees(p.trees, 1);
    packed.set(p, trees);
  }
  const dim = p.baseline.length;
  const n = frame.length;
  const raw = new Float64Array(n * dim);
  for (let i = 0; i < n; i++) raw.set(p.baseline, i * dim);
  accumulate(trees, columns, n, raw, dim, (t) => t % dim);
  return { raw, dim };
}

export const gbdtClassifier = defineModel<ClassifierConfig, Params>({
  kind: 'model',
  type: 'gbdt_classifier',
  description:
    'Histogram gradient-boosted trees (log loss; softmax over one tree per class per round beyond two classes). Takes missing values as they are.',
  tasks: ['classification'],
  config: classifierConfig,
  params,
  fit: (frame, target, cfg, ctx) => fitStep('gbdt_classifier', frame, target, cfg, ctx),
  predict(frame, p): ModelOutput {
    const { raw, dim } = rawScores(frame, p, 'gbdt_classifier');
    const k = p.classes ?? 2;
    const probs: Float64Array[] = [];
    for (let i = 0; i < frame.length; i++) {
      const out = new Float64Array(k);
      if (dim === 1) {
        const r = raw[i]!;
        const p1 = r >= 0 ? 1 / (1 + Math.exp(-r)) : Math.exp(r) / (1 + Math.exp(r));
        out[0] = 1 - p1;
        out[1] = p1;
      } else {
        let max = Number.NEGATIVE_INFINITY;
        for (let c = 0; c < dim; c++) max = Math.max(max, raw[i * dim + c]!);
        let sum = 0;
        for (let c = 0; c < dim; c++) sum += out[c] = Math.exp(raw[i * dim + c]! - max);
        for (let c = 0; c < dim; c++) out[c]! /= sum;
      }
      probs.push(out);
    }
    return fromProbabilities(probs);
  },
});

export const gbdtRegressor = defineModel<RegressorConfig, Params>({
  kind: 'model',
  type: 'gbdt_regressor',
  description: 'Histogram gradient-boosted trees (squared error). Takes missing values as they are.',
  tasks: ['regression'],
  config: regressorConfig,
  params,
  fit: (frame, target, cfg, ctx) => fitStep('gbdt_regressor', frame, target, cfg, ctx),
  predict(frame, p): ModelOutput {
    return { values: rawScores(frame, p, 'gbdt_regressor').raw };
  },
});
