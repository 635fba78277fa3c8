import type { z } from 'zod';
import type { Frame } from '../frame/frame.js';

export type Task = 'classification' | 'regression' | 'clustering';

/** What a step may report while it fits; all optional to honour. */
export interface FitContext {
  /** Seed for anything random (sampling, initialisation); same seed → same params. */
  seed: number;
  /** Aborted on cancel or timeout; long fits check it between iterations. */
  signal: AbortSignal;
  /** 0..1 within this step. */
  progress(fraction: number): void;
  /** A metric series point (e.g. validation log loss per boosting round). */
  metric(name: string, value: number, step: number): void;
  log(message: string): void;
}

/**
 * A transform step: the calculator `fit` learns plain-JSON params from the training frame; the
 * applier `apply` is pure and is what serving runs on new rows.
 */
export interface TransformStep<C = unknown, P = unknown> {
  kind: 'transform';
  type: string;
  description: string;
  config: z.ZodType<C>;
  /** Checks fitted params read back from a pipeline file; serving refuses a file that fails it. */
  params?: z.ZodType<P> | undefined;
  fit(frame: Frame, config: C, ctx: FitContext): P | Promise<P>;
  apply(frame: Frame, params: P): Frame;
}

/** The target as the model sees it: class indices (into `labels`) or numbers. */
export interface Target {
  task: Task;
  values: Float64Array;
  /** Class labels in index order (classification only). */
  labels?: string[] | undefined;
}

export interface ModelOutput {
  /** Class indices (classification, clustering) or predicted numbers (regression). */
  values: Float64Array;
  /** Per row, one probability per class in label order (classifiers). */
  probabilities?: Float64Array[] | undefined;
  /** Clustering: each row's squared distance to its cluster's centre (the sum is the inertia). */
  distances?: Float64Array | undefined;
}

/** A model step: the pipeline's last. Its features are all numeric by then (encoders ran before). */
export interface ModelStep<C = unknown, P = unknown> {
  kind: 'model';
  type: string;
  description: string;
  tasks: readonly Task[];
  config: z.ZodType<C>;
  /** Checks fitted params read back from a pipeline file; serving refuses a file that fails it. */
  params?: z.ZodType<P> | undefined;
  fit(frame: Frame, target: Target, config: C, ctx: FitContext): P | Promise<P>;
  predict(frame: Frame, params: P): ModelOutput;
}

export type Step = TransformStep | ModelStep;
