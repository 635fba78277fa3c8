import { z } from 'zod';
import { defineSection } from '../../hub/settings/registry.js';

export const runtimeSettings = defineSection({
  scope: 'serving',
  section: 'runtime',
  description: 'How models are loaded, kept in memory and queued',
  schema: z.strictObject({
    max_loaded_models: z
      .number()
      .int()
      .min(0)
      .max(64)
      .default(4)
      .describe('Most versions loaded at once; the least recently used idle one makes room (0: no limit)'),
    memory_budget_mb: z
      .number()
      .int()
      .min(0)
      .default(0)
      .describe(
        'Memory all loaded models may use together; least recently used idle ones make room (0: none)',
      ),
    keep_alive_seconds: z
      .number()
      .int()
      .min(-1)
      .default(300)
      .describe('Idle time after which a model is unloaded, unless its load set its own (-1: never)'),
    single_model_mode: z.boolean().default(false).describe('Loading a model unloads every other one'),
    auto_load: z
      .boolean()
      .default(true)
      .describe('A request for a model that is not loaded loads it when the policy allows'),
    queue_size: z
      .number()
      .int()
      .min(0)
      .max(1000)
      .default(16)
      .describe('Requests that may wait per model once its parallel slots are busy; more get 429'),
    queue_timeout_seconds: z
      .number()
      .int()
      .min(1)
      .max(600)
      .default(30)
      .describe('Longest wait for a slot before a request gets 503'),
    load_timeout_seconds: z.number().int().min(1).max(3600).default(300).describe('Longest a load may take'),
  }),
});

export type RuntimeSettings = z.infer<typeof runtimeSettings.schema>;
