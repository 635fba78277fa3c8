/** The `random_forest_classifier` and `random_forest_regressor` steps over forest.ts. */
import { z } from 'zod';
import type { Frame } from '../../../frame/frame.js';
import { StepError } from '../../errors.js';
import { defineModel } from '../../steps/util.js';
import type { FitContext, ModelOutput, Target } from '../../types.js';
import { classWeightConfig, featureColumns, fitInputs, fromProbabilities } from './common.js';
import { fitForest } from './forest.js';
import { accumulate, type PackedTrees, packTrees, treeJsonSchema, treeProblem } from './tree.js';

const maxFeatures = (byDefault: 'sqrt' | 1) =>
  z
    .union([z.enum(['sqrt', 'log2']), z.number().positive().max(100_000)])
    .nullable()
    .default(byDefault)
    .describe(
      'Features drawn per split: sqrt or log2 of their number, a fraction (≤ 1; 1 = all), or a whole count (> 1); null: all',
    )
    .refine((v) => typeof v !== 'number' || v <= 1 || Number.isInteger(v), {
      message: 'a count above 1 must be a whole number (a fraction is at most 1)',
    });

const common = {
  n_estimators: z.number().int().min(1).max(5000).default(100),
  max_depth: z
    .number()
    .int()
    .min(1)
    .max(128)
    .nullable()
    .default(null)
    .describe('null: grow until leaves are pure'),
  min_samples_leaf: z.number().int().min(1).max(1_000_000).default(1),
  bootstrap: z
    .boolean()
    .default(true)
    .describe('Fit each tree on a sample of the rows drawn with replacement'),
  max_bins: z.number().int().min(2).max(255).default(255).describe('Bins per feature (plus one for missing)'),
};

const classifierConfig = z.strictObject({
  ...common,
  max_features: maxFeatures('sqrt'),
  class_weight: classWeightConfig,
});
const regressorConfig = z.strictObject({ ...common, max_features: maxFeatures(1) });
type ClassifierConfig = z.infer<typeof classifierConfig>;
type RegressorConfig = z.infer<typeof regressorConfig>;

const params = z
  .object({
    features: z.array(z.string()).min(1),
    /** Classifiers: the number of classes; absent for regression. */
    classes: z.number().int().min(2).optional(),
    /** Values per leaf: 1 (regression, or the probability of class 1 of two) or one per class. */
    dim: z.number().int().min(1),
    trees: z.array(treeJsonSchema).min(1),
  })
  .superRefine((p, ctx) => {
    const expected = p.classes !== undefined && p.classes > 2 ? p.classes : 1;
    if (p.dim !== expected) ctx.addIssue({ code: 'custom', path: ['dim'], message: `expected ${expected}` });
    p.trees.forEach((t, i) => {
      const problem = treeProblem(t, p.features.length, p.dim);
      if (problem) ctx.addIssue({ code: 'custom', path: ['trees', i], message: problem });
    });
  });
type Params = z.infer<typeof params>;

function featuresPerSplit(v: ClassifierConfig['max_features'], nf: number, step: string): number | null {
  if (v === null) return null;
  const k =
    v === 'sqrt'
      ? Math.floor(Math.sqrt(nf))
      : v === 'log2'
        ? Math.floor(Math.log2(nf))
        : v <= 1
          ? Math.floor(v * nf)
          : v;
  if (typeof v === 'number' && v > nf)
    throw new StepError('invalid_pipeline_spec', `${step}: max_features ${v} exceeds the ${nf} features`);
  const count = Math.max(1, k);
  return count >= nf ? null : count;
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
  const model = await fitForest(
    columns,
    target.values,
    {
      nClasses: k,
      nEstimators: cfg.n_estimators,
      maxDepth: cfg.max_depth,
      minSamplesLeaf: cfg.min_samples_leaf,
      featuresPerSplit: featuresPerSplit(cfg.max_features, names.length, step),
      bootstrap: cfg.bootstrap,
      maxBins: cfg.max_bins,
      weights,
    },
    ctx,
  );
  return { features: names, ...(classification ? { classes: k } : {}), dim: model.dim, trees: model.trees };
}

const packed = new WeakMap<Params, PackedTrees>();

/** Mean of the trees' leaf values, row-major (`dim` per row). */
function average(frame: Frame, p: Params, step: string): Float64Array {
  const { columns } = featureColumns(frame, step, p.features);
  let trees = packed.get(p);
  if (!trees) {
    trees = packTrees(p.trees, p.dim);
    packed.set(p, trees);
  }
  const out = new Float64Array(frame.length * p.dim);
  accumulate(trees, columns, frame.length, out, p.dim, () => 0);
  const scale = 1 / p.trees.length;
  for (let i = 0; i < out.length; i++) out[i]! *= scale;
  return out;
}

export const randomForestClassifier = defineModel<ClassifierConfig, Params>({
  kind: 'model',
  type: 'random_forest_classifier',
  description:
    'Random forest of histogram trees (Gini), bootstrap rows and features drawn per split; probabilities are the mean of the leaves’ class frequencies. Takes missing values as they are.',
  tasks: ['classification'],
  config: classifierConfig,
  params,
  fit: (frame, target, cfg, ctx) => fitStep('random_forest_classifier', frame, target, cfg, ctx),
  predict(frame, p): ModelOutput {
    const mean = average(frame, p, 'random_forest_classifier');
    const k = p.classes ?? 2;
    const probs: Float64Array[] = [];
    for (let i = 0; i < frame.length; i++) {
      if (p.dim === 1) probs.push(Float64Array.of(1 - mean[i]!, mean[i]!));
      else probs.push(mean.slice(i * k, (i + 1) * k));
    }
    return fromProbabilities(probs);
  },
});

export const randomForestRegressor = defineModel<RegressorConfig, Params>({
  kind: 'model',
  type: 'random_forest_regressor',
  description:
    'Random forest of histogram trees (variance reduction), bootstrap rows; the prediction is the mean of the trees. Takes missing values as they are.',
  tasks: ['regression'],
  config: regressorConfig,
  params,
  fit: (frame, target, cfg, ctx) => fitStep('random_forest_regressor', frame, target, cfg, ctx),
  predict(frame, p): ModelOutput {
    return { values: average(frame, p, 'random_forest_regressor') };
  },
});
