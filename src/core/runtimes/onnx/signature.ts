import type { InferenceSession } from 'onnxruntime-node';
import { RuntimeError } from '../types.js';
import type { OnnxLoadConfig } from './config.js';
import { type Dim, formatShape, INPUT_TYPES, type InputType, OUTPUT_TYPES } from './tensors.js';

/**
 * How an input's first dimension relates to rows:
 * - `dynamic`: symbolic first dim (a batch): a row's value has the remaining dims; rows batch.
 * - `single`: first dim fixed at 1: a row's value has the remaining dims (or all, leading 1
 *   included); rows run one at a time.
 * - `whole`: no batch dim (a scalar, a fixed first dim other than 1, or an unknown shape): a row's
 *   value is the whole tensor; rows run one at a time.
 */
export type BatchMode = 'dynamic' | 'single' | 'whole';

export interface InputSpec {
  name: string;
  type: InputType;
  shape: readonly Dim[];
  mode: BatchMode;
  /** Dims of one row's value; undefined when the model does not declare a shape. */
  rowDims: readonly Dim[] | undefined;
  /** What a row must send, for error messages, e.g. `float32 of shape [4] (model input [batch, 4])`. */
  expected: string;
}

export interface OutputSpec {
  name: string;
  type: string;
  shape: readonly Dim[];
}

/** Classifier outputs: a label output, a probability output, or both. */
export interface ClassifierPlan {
  label: OutputSpec | undefined;
  probabilities: OutputSpec | undefined;
  labels: readonly string[] | undefined;
}

export interface Signature {
  inputs: InputSpec[];
  /** Tensor outputs of supported types; other outputs (sequences, maps) are not fetched. */
  outputs: OutputSpec[];
  /** Every input has a dynamic first dim, so rows run together in one batch. */
  batchable: boolean;
  /** Outputs carry a leading batch dim to slice rows from. */
  sliced: boolean;
  /** Set when the model takes feature-style rows: its only input is a 2-D float matrix. */
  features: { input: InputSpec; count: number | undefined; names: readonly string[] | undefined } | undefined;
  classifier: ClassifierPlan | undefined;
}

const unsupported = (message: string) => new RuntimeError('unsupported_model', message, 422);
const badConfig = (message: string) => new RuntimeError('invalid_load_config', message, 400);

function describeInput(name: string, type: InputType, shape: readonly Dim[]): InputSpec {
  let mode: BatchMode = 'whole';
  if (typeof shape[0] === 'string') mode = 'dynamic';
  else if (shape[0] === 1) mode = 'single';
  const rowDims = mode === 'whole' ? (shape.length ? shape : undefined) : shape.slice(1);
  const expected = rowDims
    ? `${type} of shape ${formatShape(rowDims)} (model input ${formatShape(shape)})`
    : `a ${type} tensor`;
  return { name, type, shape, mode, rowDims, expected };
}

const LABEL_NAME = /(^|_)(label|labels)$/i;
const PROB_NAME = /prob/i;
const isFloat = (o: OutputSpec) => o.type === 'float32' || o.type === 'float64' || o.type === 'float16';

/**
 * A classifier is a label output (like `label`, `output_label`) with a probability output of shape
 * [batch, classes], or, for a model whose task is classification, either of them alone (a single
 * float [batch, classes] output counts as probabilities).
 */
function planClassifier(outputs: OutputSpec[], task: string): Omit<ClassifierPlan, 'labels'> | undefined {
  const label = outputs.find((o) => LABEL_NAME.test(o.name) && o.shape.length <= 2);
  const floats2d = outputs.filter((o) => o !== label && isFloat(o) && o.shape.length === 2);
  const probabilities =
    floats2d.find((o) => PROB_NAME.test(o.name)) ?? (floats2d.length === 1 ? floats2d[0] : undefined);
  if (label && probabilities) return { label, probabilities };
  if (task !== 'classification') return undefined;
  if (label) return { label, probabilities: undefined };
  if (outputs.length === 1 && probabilities) return { label: undefined, probabilities };
  return undefined;
}

export function readSignature(session: InferenceSession, task: string, config: OnnxLoadConfig): Signature {
  const inputs = session.inputMetadata.map((m) => {
    if (!m.isTensor) throw unsupported(`Input "${m.name}" is not a tensor; only tensor inputs are served`);
    if (!(INPUT_TYPES as readonly string[]).includes(m.type)) {
      throw unsupported(`Input "${m.name}" has element type ${m.type}, which this runtime cannot feed`);
    }
    return describeInput(m.name, m.type as InputType, m.shape);
  });
  const outputs = session.outputMetadata.flatMap((m) =>
    m.isTensor && OUTPUT_TYPES.includes(m.type) ? [{ name: m.name, type: m.type, shape: m.shape }] : [],
  );
  if (outputs.length === 0) throw unsupported('The model has no tensor output this runtime can return');

  const batchable = inputs.every((i) => i.mode === 'dynamic');
  const sliced = inputs.some((i) => i.mode !== 'whole');

  const only = inputs.length === 1 ? inputs[0] : undefined;
  const matrix =
    only &&
    only.mode !== 'whole' &&
    only.shape.length === 2 &&
    (only.type === 'float32' || only.type === 'float64')
      ? only
      : undefined;
  const count = typeof matrix?.shape[1] === 'number' ? matrix.shape[1] : undefined;
  const names = config.feature_names;
  if (names && !matrix) {
    throw badConfig('feature_names applies only to models with one 2-D float input [batch, features]');
  }
  if (names && count !== undefined && names.length !== count) {
    throw badConfig(`feature_names lists ${names.length} names but the model takes ${count} features`);
  }

  const plan = planClassifier(outputs, task);
  if (config.labels && !plan) throw badConfig('labels applies only to classifiers');
  const classes = plan?.probabilities?.shape[1];
  if (config.labels && typeof classes === 'number' && config.labels.length !== classes) {
    throw badConfig(`labels lists ${config.labels.length} labels but the model has ${classes} classes`);
  }

  return {
    inputs,
    outputs,
    batchable,
    sliced,
    features: matrix ? { input: matrix, count, names } : undefined,
    classifier: plan ? { ...plan, labels: config.labels } : undefined,
  };
}
