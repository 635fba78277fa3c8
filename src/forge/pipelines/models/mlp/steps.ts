/** The `mlp_classifier` and `mlp_regressor` steps: trained on TensorFlow.js, served in plain TypeScript. */
import { z } from 'zod';
import type { Frame } from '../../../frame/frame.js';
import { StepError } from '../../errors.js';
import { featureMatrix } from '../../matrix.js';
import { defineModel } from '../../steps/util.js';
import type { FitContext, ModelOutput, Target } from '../../types.js';
import { classCount, fromProbabilities, requireRows } from '../trees/common.js';
import { forward, softmaxRows } from './forward.js';
import { trainMlp } from './train.js';

const config = z.strictObject({
  hidden_layers: z
    .array(z.number().int().min(1).max(4096))
    .max(16)
    .default([64])
    .describe('Units per hidden layer'),
  activation: z.enum(['relu', 'tanh']).default('relu'),
  learning_rate: z.number().positive().max(1).default(0.001).describe('Adam step size'),
  epochs: z.number().int().min(1).max(10_000).default(50),
  batch_size: z.number().int().min(1).max(65_536).default(64),
  l2: z.number().min(0).max(100).default(0.0001).describe("L2 penalty on the weights (scikit-learn's alpha)"),
  early_stopping: z
    .boolean()
    .default(false)
    .describe('Hold out validation_fraction of the rows and stop when their loss stalls'),
  validation_fraction: z.number().gt(0).lt(1).default(0.1),
  n_iter_no_change: z
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(10)
    .describe('Epochs without improvement before stopping'),
  tol: z.number().min(0).max(1).default(1e-4),
});
type Config = z.infer<typeof config>;

const layer = z.object({
  inputs: z.number().int().min(1),
  outputs: z.number().int().min(1),
  weights: z.array(z.number()),
  bias: z.array(z.number()),
});

const params = z
  .object({
    features: z.array(z.string()).min(1),
    activation: z.enum(['relu', 'tanh']),
    /** Inputs are standardised with these before the first layer. */
    input_mean: z.array(z.number()),
    input_scale: z.array(z.number()),
    layers: z.array(layer).min(1),
    /** Classifiers: the number of classes (one output each). */
    classes: z.number().int().min(2).optional(),
    /** Regressors: the network predicts (y − mean) / scale. */
    target_mean: z.number().optional(),
    target_scale: z.number().optional(),
  })
  .superRefine((p, ctx) => {
    const issue = (message: string) => ctx.addIssue({ code: 'custom', message });
    const d = p.features.length;
    if (p.input_mean.length !== d || p.input_scale.length !== d)
      issue('input scaling does not match the features');
    let width = d;
    p.layers.forEach((l, i) => {
      if (l.inputs !== width) issue(`layer ${i} takes ${l.inputs} inputs, the previous gives ${width}`);
      if (l.weights.length !== l.inputs * l.outputs || l.bias.length !== l.outputs)
        issue(`layer ${i} weights do not match its shape`);
      width = l.outputs;
    });
    if (width !== (p.classes ?? 1))
      issue(`the last layer gives ${width} outputs, expected ${p.classes ?? 1}`);
  });
type Params = z.infer<typeof params>;

/** Standardised features as float32 for training, and the scaling to store. */
function standardise(data: Float64Array, n: number, d: number) {
  const mean = new Array<number>(d).fill(0);
  const scale = new Array<number>(d).fill(0);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j]! += data[i * d + j]!;
  for (let j = 0; j < d; j++) mean[j]! /= n;
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) scale[j]! += (data[i * d + j]! - mean[j]!) ** 2;
  // A constant column gets scale 1: shifted to zero, never divided by zero.
  for (let j = 0; j < d; j++) scale[j] = Math.sqrt(scale[j]! / n) || 1;
  const x = new Float32Array(n * d);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < d; j++) x[i * d + j] = (data[i * d + j]! - mean[j]!) / scale[j]!;
  return { x, mean, scale };
}

async function fitStep(
  step: string,
  frame: Frame,
  target: Target,
  cfg: Config,
  ctx: FitContext,
): Promise<Params> {
  const m = featureMatrix(frame, step);
  requireRows(m.n, 2, step);
  const classification = target.task === 'classification';
  const k = classification ? classCount(target, step) : 1;
  const { x, mean, scale } = standardise(m.data, m.n, m.d);
  let y = target.values;
  let targetMean = 0;
  let targetScale = 1;
  if (!classification) {
    for (const v of y) targetMean += v;
    targetMean /= y.length;
    let ss = 0;
    for (const v of y) ss += (v - targetMean) ** 2;
    targetScale = Math.sqrt(ss / y.length) || 1;
    y = Float64Array.from(y, (v) => (v - targetMean) / targetScale);
    if (!y.every(Number.isFinite))
      throw new StepError('invalid_target', `${step}: the target has values that are not finite numbers`);
  }
  const result = await trainMlp(
    x,
    y,
    m.n,
    m.d,
    {
      outputs: k,
      classification,
      hidden: cfg.hidden_layers,
      activation: cfg.activation,
      learningRate: cfg.learning_rate,
      epochs: cfg.epochs,
      batchSize: cfg.batch_size,
      l2: cfg.l2,
      earlyStopping: cfg.early_stopping,
      validationFraction: cfg.validation_fraction,
      nIterNoChange: cfg.n_iter_no_change,
      tol: cfg.tol,
    },
    ctx,
  );
  return {
    features: m.names,
    activation: cfg.activation,
    input_mean: mean,
    input_scale: scale,
    layers: result.layers,
    ...(classification ? { classes: k } : { target_mean: targetMean, target_scale: targetScale }),
  };
}

function outputs(frame: Frame, p: Params, step: string): { out: Float64Array; n: number } {
  const m = featureMatrix(frame, step, p.features);
  const x = m.data;
  for (let i = 0; i < m.n; i++)
    for (let j = 0; j < m.d; j++) x[i * m.d + j] = (x[i * m.d + j]! - p.input_mean[j]!) / p.input_scale[j]!;
  return { out: forward(p.layers, p.activation, x, m.n), n: m.n };
}

export const mlpClassifier = defineModel<Config, Params>({
  kind: 'model',
  type: 'mlp_classifier',
  description:
    'Multi-layer perceptron (dense layers, softmax output) trained with Adam on TensorFlow.js; inputs are standardised inside the model.',
  tasks: ['classification'],
  config,
  params,
  fit: (frame, target, cfg, ctx) => fitStep('mlp_classifier', frame, target, cfg, ctx),
  predict(frame, p): ModelOutput {
    const { out, n } = outputs(frame, p, 'mlp_classifier');
    return fromProbabilities(softmaxRows(out, n, p.classes ?? 2));
  },
});

export const mlpRegressor = defineModel<Config, Params>({
  kind: 'model',
  type: 'mlp_regressor',
  description:
    'Multi-layer perceptron (dense layers, linear output, squared error) trained with Adam on TensorFlow.js; inputs and target are standardised inside the model.',
  tasks: ['regression'],
  config,
  params,
  fit: (frame, target, cfg, ctx) => fitStep('mlp_regressor', frame, target, cfg, ctx),
  predict(frame, p): ModelOutput {
    const { out } = outputs(frame, p, 'mlp_regressor');
    const mean = p.target_mean ?? 0;
    const scale = p.target_scale ?? 1;
    return { values: Float64Array.from(out, (v) => v * scale + mean) };
  },
});
