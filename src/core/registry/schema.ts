import { z } from 'zod';
import { MODEL_TASKS, VISIBILITIES } from '../tables.js';

/** Letters, digits, '.', '_' and '-' (unique ignoring case); names double as ids in URLs, so no '/' or ':'. */
export const modelName = z
  .string()
  .trim()
  .min(1)
  .max(128)
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]*$/,
    "use letters, digits, '.', '_' and '-', starting with a letter or digit",
  );
export const aliasName = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[a-z0-9][a-z0-9-]*$/, "use lower-case letters, digits and '-'");
const tag = z.string().trim().min(1).max(64);

export const createModelBody = z.strictObject({
  name: modelName,
  task: z.enum(MODEL_TASKS),
  description: z.string().max(10_000).default(''),
  tags: z.array(tag).max(50).default([]),
  visibility: z.enum(VISIBILITIES).default('internal'),
});
export type CreateModelInput = z.infer<typeof createModelBody>;

export const updateModelBody = z.strictObject({
  name: modelName.optional(),
  task: z.enum(MODEL_TASKS).optional(),
  description: z.string().max(10_000).optional(),
  tags: z.array(tag).max(50).optional(),
  visibility: z.enum(VISIBILITIES).optional(),
});
export type UpdateModelInput = z.infer<typeof updateModelBody>;

export const listModelsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(400).optional(),
  search: z.string().max(200).optional(),
  task: z.enum(MODEL_TASKS).optional(),
  tag: tag.optional(),
});
export type ListModelsQuery = z.infer<typeof listModelsQuery>;

export const lineage = z.strictObject({
  dataset_version: z.string().max(200).optional(),
  job_id: z.string().max(200).optional(),
  parent_version: z.number().int().min(1).optional(),
  /** A hyperparameter search's version: `job_id` is the search, this its winning trial's job. */
  trial_job_id: z.string().max(200).optional(),
});
export const metrics = z.record(z.string().max(200), z.unknown());
export const externalRef = z.strictObject({
  provider: z.string().trim().min(1).max(100),
  model: z.string().trim().min(1).max(300),
});
export const externalVersionBody = z.strictObject({
  external: externalRef,
  source: z.string().max(200).optional(),
  lineage: lineage.optional(),
  metrics: metrics.optional(),
});

export const fileView = z.object({ path: z.string(), size: z.number(), sha256: z.string() });
export const versionView = z
  .object({
    version: z.number(),
    format: z.string(),
    size: z.number(),
    sha256: z.string().nullable(),
    status: z.enum(['ready', 'retired']),
    source: z.string(),
    lineage: lineage,
    metrics: metrics,
    external: externalRef.nullable(),
    created_at: z.string(),
    retired_at: z.string().nullable(),
    files: z.array(fileView),
  })
  .meta({ id: 'ModelVersion' });
export type VersionView = z.infer<typeof versionView>;

const modelBase = z.object({
  id: z.string(),
  name: z.string(),
  task: z.enum(MODEL_TASKS),
  description: z.string(),
  tags: z.array(z.string()),
  visibility: z.enum(VISIBILITIES),
  owner_id: z.string().nullable(),
  /** Runtime state; `available` until the model is loaded by a runtime. */
  status: z.enum(['available', 'loaded', 'loading', 'error', 'downloading']),
  format: z.string().nullable(),
  size: z.number().nullable(),
  source: z.string().nullable(),
  versions_count: z.number(),
  latest_version: z.number().nullable(),
  aliases: z.record(z.string(), z.number()),
  created_at: z.string(),
  updated_at: z.string(),
});
export const modelSummary = modelBase.meta({ id: 'ModelSummary' });
export type ModelSummary = z.infer<typeof modelSummary>;
export const modelDetail = modelBase.extend({ versions: z.array(versionView) }).meta({ id: 'Model' });
export type ModelDetail = z.infer<typeof modelDetail>;

export const modelParams = z.object({ id: z.string().min(1).max(128) });
export const versionParams = modelParams.extend({
  version: z.coerce.number().int().min(1).max(2_147_483_647),
});
export const fileParams = versionParams.extend({ '*': z.string().min(1).max(1024) });
export const aliasParams = modelParams.extend({ alias: aliasName });

export const setAliasBody = z.strictObject({
  version: z.number().int().min(1),
  reason: z.string().max(1000).default(''),
  /** The version the caller believes the alias points at now (null: not set); a mismatch is 409. */
  expected_version: z.number().int().min(1).nullable().optional(),
});
export const reasonBody = z
  .strictObject({ reason: z.string().max(1000).default('') })
  .default({ reason: '' });
export const promoteBody = z.strictObject({
  version: z.number().int().min(1),
  stage: z.enum(['production', 'staging']).default('production'),
  reason: z.string().max(1000).default(''),
});
export const retireBody = z.strictObject({ version: z.number().int().min(1) });

export const aliasView = z
  .object({
    model_id: z.string(),
    alias: z.string(),
    version: z.number().nullable(),
    previous_version: z.number().nullable(),
  })
  .meta({ id: 'ModelAlias' });
export type AliasView = z.infer<typeof aliasView>;
export const aliasHistoryEntry = z
  .object({
    id: z.string(),
    alias: z.string(),
    from_version: z.number().nullable(),
    to_version: z.number().nullable(),
    reason: z.string(),
    actor_id: z.string().nullable(),
    actor_name: z.string().nullable(),
    at: z.string(),
  })
  .meta({ id: 'ModelAliasChange' });
export type AliasHistoryEntry = z.infer<typeof aliasHistoryEntry>;
export const historyQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
});
