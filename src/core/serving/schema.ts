import { z } from 'zod';

export const modelParams = z.object({ id: z.string().min(1).max(128) });

const aliasName = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'lowercase letters, digits, _ and -');

export const loadBody = z
  .strictObject({
    version: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe('Version to load (default: production, else newest)'),
    alias: aliasName.optional().describe('Load the version this alias points at'),
    config: z
      .record(z.string(), z.unknown())
      .optional()
      .describe('Runtime options, e.g. context_size, threads, parallel (checked by the runtime)'),
    keep_alive: z
      .number()
      .int()
      .min(-1)
      .max(30 * 86_400)
      .optional()
      .describe('Seconds to stay loaded when idle (-1: until unloaded); default from serving/runtime'),
    allow_retired: z.boolean().optional().describe('Serve a retired version anyway'),
  })
  .refine((b) => !(b.version !== undefined && b.alias !== undefined), {
    message: 'give version or alias, not both',
    path: ['alias'],
  })
  .default({});

export const unloadBody = z
  .strictObject({ version: z.number().int().min(1).optional().describe('Only this version') })
  .default({});

export const loadResult = z
  .object({
    status: z.literal('success'),
    message: z.string(),
    model_id: z.string(),
    version: z.number().int(),
    runtime: z.string(),
    loaded_at: z.string(),
    memory_bytes: z.number(),
  })
  .meta({ id: 'LoadModelResponse' });

export const unloadResult = z
  .object({
    status: z.literal('success'),
    message: z.string(),
    model_id: z.string(),
    unloaded_at: z.string(),
    versions_unloaded: z.number().int(),
  })
  .meta({ id: 'UnloadModelResponse' });

export const runtimeEntry = z.object({
  model_id: z.string(),
  name: z.string(),
  version: z.number().int(),
  format: z.string(),
  runtime: z.string(),
  status: z.enum(['loading', 'loaded', 'error', 'unloading']),
  error: z.string().nullable(),
  pid: z.number().int().nullable(),
  memory_bytes: z.number(),
  loaded_at: z.string().nullable(),
  last_used_at: z.string(),
  expires_at: z.string().nullable().describe('When keep-alive unloads it if it stays idle; null: never'),
  keep_alive: z.number().int(),
  active: z.number().int(),
  queued: z.number().int(),
  parallel: z.number().int().nullable(),
  config: z.record(z.string(), z.unknown()),
});

export const runtimeView = z
  .object({
    models: z.array(runtimeEntry),
    memory_bytes: z.number().describe('Total resident memory of every model host'),
    policy: z.object({
      max_loaded_models: z.number().int(),
      memory_budget_mb: z.number().int(),
      keep_alive_seconds: z.number().int(),
      single_model_mode: z.boolean(),
      auto_load: z.boolean(),
      queue_size: z.number().int(),
    }),
    runtimes: z.array(z.object({ name: z.string(), formats: z.array(z.string()) })),
  })
  .meta({ id: 'RuntimeStatus' });
export type RuntimeView = z.infer<typeof runtimeView>;
