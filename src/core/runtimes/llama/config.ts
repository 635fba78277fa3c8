import { z } from 'zod';
import { RuntimeError } from '../types.js';

/** The most sequences one context holds: each one reserves its own `context_size` of KV cache. */
export const MAX_PARALLEL = 8;
/** The default context stays modest even for long-context models, since the KV cache grows with it. */
const DEFAULT_CONTEXT_CAP = 4096;
/** Below this a chat template plus a short exchange no longer fits. */
const MIN_CONTEXT = 256;

/** Load options of the llama runtime, as stored with a deployment (snake_case like the API). */
export const llamaLoadConfigSchema = z.strictObject({
  /** Which GGUF file to load when the version holds several (a path as listed in the version). */
  file: z.string().min(1).optional(),
  /** Tokens per sequence; defaults to min(the model's training context, 4096). */
  context_size: z
    .number()
    .int()
    .min(MIN_CONTEXT)
    .max(1 << 20)
    .optional(),
  /** CPU threads for evaluation; defaults to the physical cores less one (see defaultThreads). */
  threads: z.number().int().min(1).max(512).optional(),
  /** Sequences in the context, i.e. requests served at once. */
  parallel: z.number().int().min(1).max(MAX_PARALLEL).default(1),
  /** Offer `embed`; the embedding context is created on first use. */
  embedding: z.boolean().default(true),
});

export type LlamaLoadConfig = z.infer<typeof llamaLoadConfigSchema>;

function describe(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    const known = Object.keys(llamaLoadConfigSchema.shape).join(', ');
    return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')} (known: ${known})`;
  }
  return `${issue.path.join('.') || '(root)'}: ${issue.message}`;
}

export function parseLoadConfig(raw: unknown): LlamaLoadConfig {
  const parsed = llamaLoadConfigSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const detail = parsed.error.issues.map(describe).join('; ');
    throw new RuntimeError('invalid_load_config', `invalid llama load config: ${detail}`, 400);
  }
  return parsed.data;
}

/**
 * The context size once the model's training context is known. A larger request is refused rather
 * than silently degrading: past the training context the model's output falls apart.
 */
export function resolveContextSize(requested: number | undefined, trainContextSize: number): number {
  if (requested !== undefined) {
    if (trainContextSize > 0 && requested > trainContextSize) {
      throw new RuntimeError(
        'invalid_load_config',
        `invalid llama load config: context_size ${requested} exceeds the model's training context (${trainContextSize})`,
        400,
      );
    }
    return requested;
  }
  const cap = trainContextSize > 0 ? Math.min(trainContextSize, DEFAULT_CONTEXT_CAP) : DEFAULT_CONTEXT_CAP;
  return Math.max(MIN_CONTEXT, cap);
}
