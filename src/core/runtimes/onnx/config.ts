import type { InferenceSession } from 'onnxruntime-node';
import { z } from 'zod';
import { RuntimeError } from '../types.js';

/**
 * Load options of the onnx runtime (LoadSpec.config). Unknown fields are refused so a typo never
 * silently falls back to a default.
 */
const loadConfigSchema = z.strictObject({
  /** Which .onnx file to load when the version holds several. */
  file: z.string().min(1).optional(),
  /** Threads one run may use; onnxruntime picks the core count when unset. */
  intra_op_threads: z.int().min(1).max(256).optional(),
  /** Threads for independent graph branches; only used when above 1 (parallel execution mode). */
  inter_op_threads: z.int().min(1).max(256).optional(),
  graph_optimization: z.enum(['disabled', 'basic', 'extended', 'all']).default('all'),
  /**
   * Requests the loaded model serves at once; each holds its own input and output buffers.
   * onnxruntime-node executes a run on the JS thread, so concurrent runs interleave rather than
   * overlap: intra_op_threads is what puts more cores on one run.
   */
  parallel: z.int().min(1).max(8).default(1),
  /** Rows one predict call may carry; bounds the memory of one run. */
  max_batch: z.int().min(1).max(65_536).default(1024),
  /** Feature order for feature-style rows (objects of feature values). */
  feature_names: z
    .array(z.string().min(1))
    .min(1)
    .refine((names) => new Set(names).size === names.length, 'feature names must be unique')
    .optional(),
  /** Class labels in the order of the probability columns (class index → label). */
  labels: z.array(z.string().min(1)).min(1).optional(),
});

export type OnnxLoadConfig = z.infer<typeof loadConfigSchema>;

export function parseLoadConfig(raw: Record<string, unknown>): OnnxLoadConfig {
  const parsed = loadConfigSchema.safeParse(raw ?? {});
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    }
    return `field "${issue.path.join('.') || '(root)'}": ${issue.message}`;
  });
  throw new RuntimeError('invalid_load_config', `Invalid onnx load config: ${problems.join('; ')}`, 400);
}

/** onnxruntime session options for a load config: CPU only, warnings kept out of the log. */
export function sessionOptions(config: OnnxLoadConfig): InferenceSession.SessionOptions {
  const interOp = config.inter_op_threads ?? 1;
  return {
    executionProviders: ['cpu'],
    graphOptimizationLevel: config.graph_optimization,
    ...(config.intra_op_threads ? { intraOpNumThreads: config.intra_op_threads } : {}),
    interOpNumThreads: interOp,
    executionMode: interOp > 1 ? 'parallel' : 'sequential',
    // Warnings (e.g. unused initializers) would flood the host's log on every load.
    logSeverityLevel: 3,
  };
}
