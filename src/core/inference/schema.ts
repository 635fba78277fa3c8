import { z } from 'zod';
import { parameterOverridesSchema } from '../serving/parameters/schema.js';

const message = z.strictObject({
  role: z.enum(['system', 'user', 'assistant']),
  content: z.string().max(1_000_000),
});

export const chatBody = z
  .strictObject({
    message: z.string().min(1).max(1_000_000).describe('The user message to answer'),
    channel: z
      .string()
      .max(64)
      .optional()
      .describe('Where the message came from (telegram, webapp, mail, …)'),
    user_id: z
      .string()
      .max(256)
      .optional()
      .describe('The end user on that channel; recorded, not authenticated'),
    parameters: parameterOverridesSchema
      .optional()
      .describe("Overrides of the model's parameters for this request"),
    model: z
      .string()
      .min(1)
      .max(200)
      .optional()
      .describe('name, name@alias or name:version (default: the most recently used loaded chat model)'),
    messages: z.array(message).max(1000).optional().describe('Earlier turns, oldest first'),
    system: z.string().max(100_000).optional().describe('A system prompt, placed before the history'),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 32 - 1)
      .optional(),
    stop: z.array(z.string().min(1).max(100)).max(8).optional(),
  })
  .meta({ id: 'ChatRequest' });
export type ChatBody = z.infer<typeof chatBody>;

export const chatResponse = z
  .object({
    response: z.string(),
    model: z.string(),
    timestamp: z.string(),
    parameters_used: z.record(z.string(), z.unknown()),
    model_id: z.string(),
    version: z.number().int(),
    finish_reason: z.enum(['stop', 'length', 'cancelled', 'time_limit']),
    usage: z.object({ prompt_tokens: z.number().int(), completion_tokens: z.number().int() }),
    channel: z.string().nullable(),
    user_id: z.string().nullable(),
  })
  .meta({ id: 'ChatResponse' });

export const modelParams = z.object({ id: z.string().min(1).max(200) });

const row = z.record(z.string(), z.unknown());
const which = {
  version: z.number().int().min(1).optional().describe('Version to use (default: production, else newest)'),
  alias: z.string().min(1).max(64).optional().describe('Use the version this alias points at'),
};

export const predictBody = z
  .strictObject({
    input: row.optional().describe('One row: feature or input name → value'),
    rows: z.array(row).min(1).max(100_000).optional().describe('Several rows (answered like predict_batch)'),
    ...which,
  })
  .refine((b) => (b.input === undefined) !== (b.rows === undefined), {
    message: 'give input (one row) or rows (several), not both',
    path: ['input'],
  })
  .meta({ id: 'PredictRequest' });
export const predictBatchBody = z
  .strictObject({ rows: z.array(row).min(1).max(100_000), ...which })
  .meta({ id: 'PredictBatchRequest' });

export const predictOneResponse = z.object({
  model: z.string(),
  version: z.number().int(),
  prediction: z.unknown(),
  probabilities: z.record(z.string(), z.number()).nullable().describe('Class → probability (classifiers)'),
});
export const predictBatchResponse = z
  .object({
    model: z.string(),
    version: z.number().int(),
    count: z.number().int(),
    predictions: z.array(z.unknown()),
    probabilities: z
      .array(z.array(z.number()))
      .nullable()
      .describe('Per row, one probability per class in the order of `labels` (classifiers)'),
    labels: z.array(z.string()).nullable(),
  })
  .meta({ id: 'PredictBatchResponse' });
export const predictResponse = z
  .union([predictOneResponse, predictBatchResponse])
  .meta({ id: 'PredictResponse' });
