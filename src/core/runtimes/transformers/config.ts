import { z } from 'zod';
import { RuntimeError } from '../types.js';

/**
 * Weight variants transformers.js knows on onnxruntime-node. Each one is a separate file next to
 * onnx/model.onnx (model_fp16.onnx, model_quantized.onnx, ...), so the choice must match the files.
 */
export const DTYPE_FILE_SUFFIX = {
  fp32: '',
  fp16: '_fp16',
  q8: '_quantized',
  int8: '_int8',
  uint8: '_uint8',
  q4: '_q4',
  q4f16: '_q4f16',
  bnb4: '_bnb4',
} as const;
export type Dtype = keyof typeof DTYPE_FILE_SUFFIX;

/** Most generations one loaded model runs at once; they share its ONNX session and CPU cores. */
export const MAX_PARALLEL = 4;

/** Load options of the transformers runtime (LoadSpec.config), snake_case like the API. */
export const loadConfigSchema = z.strictObject({
  /** Which weight file variant to load; fp32 is onnx/model.onnx. */
  dtype: z.enum(Object.keys(DTYPE_FILE_SUFFIX) as [Dtype, ...Dtype[]]).default('fp32'),
  /** Requests the loaded model serves at once. */
  parallel: z.int().min(1).max(MAX_PARALLEL).default(1),
  /** How token vectors become one embedding: attention-masked mean, or the first ([CLS]) token. */
  pooling: z.enum(['mean', 'cls']).default('mean'),
  /** Scale embeddings to unit length (L2), so a dot product is the cosine similarity. */
  normalize: z.boolean().default(true),
});
export type TransformersLoadConfig = z.infer<typeof loadConfigSchema>;

export function parseLoadConfig(raw: unknown): TransformersLoadConfig {
  const parsed = loadConfigSchema.safeParse(raw ?? {});
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      const known = Object.keys(loadConfigSchema.shape).join(', ');
      return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')} (known: ${known})`;
    }
    return `field "${issue.path.join('.') || '(root)'}": ${issue.message}`;
  });
  throw new RuntimeError(
    'invalid_load_config',
    `invalid transformers load config: ${problems.join('; ')}`,
    400,
  );
}

/** The transformers.js pipelines this runtime serves. */
export type PipelineTask = 'text-generation' | 'feature-extraction' | 'text-classification';

const TASK_PIPELINES: Record<string, PipelineTask> = {
  chat: 'text-generation',
  completion: 'text-generation',
  'text-generation': 'text-generation',
  embedding: 'feature-extraction',
  'feature-extraction': 'feature-extraction',
  classification: 'text-classification',
  'text-classification': 'text-classification',
};

/**
 * The pipeline for a model: its Polar task when that names one, else what config.json's first
 * architecture is (…ForCausalLM, …ForSequenceClassification, or a bare encoder such as BertModel).
 */
export function pipelineFor(task: string, modelConfig: { architectures?: unknown }): PipelineTask {
  const fromTask = TASK_PIPELINES[task];
  if (fromTask) return fromTask;
  const arch = Array.isArray(modelConfig.architectures) ? modelConfig.architectures[0] : undefined;
  if (typeof arch === 'string') {
    if (arch.endsWith('ForCausalLM')) return 'text-generation';
    if (arch.endsWith('ForSequenceClassification')) return 'text-classification';
    if (/(Model|ForFeatureExtraction)$/.test(arch)) return 'feature-extraction';
  }
  throw new RuntimeError(
    'unsupported_task',
    `the transformers runtime serves chat, completion, embedding and classification models; task "${task}" with architecture ${typeof arch === 'string' ? `"${arch}"` : '(none)'} is none of them`,
    422,
  );
}
