import { z } from 'zod';

/**
 * The `polar-tabular` format: a trained pipeline as data. Forge writes it (one `pipeline.json` per
 * version) and registers the appliers that give each step type its meaning; Core only reads it and
 * runs the steps in order, so serving uses exactly the appliers that transformed the training data.
 */
export type Row = Record<string, unknown>;

export const tabularPipeline = z.object({
  format: z.literal('polar-tabular'),
  format_version: z.literal(1),
  task: z.enum(['classification', 'regression', 'clustering']),
  /** Input columns a row must (or may, when the pipeline imputes) carry. */
  features: z.array(z.object({ name: z.string(), type: z.string(), required: z.boolean().default(false) })),
  target: z.string().optional(),
  /** Class labels in the order of the model's probability outputs. */
  labels: z.array(z.union([z.string(), z.number(), z.boolean()])).optional(),
  /** Transform steps in order, then exactly one model step last. */
  steps: z.array(z.object({ type: z.string(), params: z.unknown() })).min(1),
});
export type TabularPipeline = z.infer<typeof tabularPipeline>;

/** A fitted transform: pure, rows in, rows out. */
export interface TransformApplier {
  kind: 'transform';
  apply(rows: Row[], params: unknown): Row[];
}

/** A fitted model: the pipeline's last step. */
export interface ModelApplier {
  kind: 'model';
  predict(
    rows: Row[],
    params: unknown,
  ): { predictions: unknown[]; probabilities?: Record<string, number>[] | undefined };
}

export type Applier = TransformApplier | ModelApplier;

/** Step type → applier; Forge's node registry implements it. */
export interface ApplierRegistry {
  get(type: string): Applier | undefined;
}

/** A loaded pipeline: rows in, one prediction per row out. */
export interface CompiledPipeline {
  predict(rows: Row[]): { predictions: unknown[]; probabilities?: Record<string, number>[] | undefined };
}

/**
 * Turns a checked pipeline.json into a predictor, throwing RuntimeError for a step it cannot run.
 * Row appliers are one way to build it; Forge compiles to its columnar appliers instead, so a
 * pipeline is served by the very code that transformed its training data.
 */
export type PipelineCompiler = (pipeline: TabularPipeline) => CompiledPipeline;

export const PIPELINE_FILE = 'pipeline.json';
