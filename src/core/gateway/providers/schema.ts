import { z } from 'zod';
import { pageQuery } from '../../../platform/http/pagination.js';
import { modelName, versionView } from '../../registry/schema.js';
import { MODEL_TASKS } from '../../tables.js';
import { PROVIDER_KINDS } from '../tables.js';

export const providerName = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]*$/,
    "use letters, digits, '.', '_' and '-', starting with a letter or digit",
  );

export const providerParams = z.object({ provider_id: z.string().min(1).max(100) });
export const listProvidersQuery = pageQuery;

/** Keys are opaque tokens: printable, no whitespace (a pasted newline would break the header). */
const apiKey = z
  .string()
  .min(1)
  .max(4096)
  .regex(/^[\x21-\x7e]+$/, 'printable characters without spaces');

const fields = {
  description: z.string().max(2000),
  base_url: z
    .string()
    .trim()
    .min(1)
    .max(2000)
    .describe(
      'openai: the API root including /v1 (https://api.openai.com/v1, http://host:8000/v1 for vLLM); ' +
        'azure-openai: the resource endpoint (https://name.openai.azure.com); ollama: the server root (http://host:11434)',
    ),
  api_key: apiKey.describe('Stored encrypted; never returned'),
  deployment: z
    .string()
    .trim()
    .min(1)
    .max(200)
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "use letters, digits, '.', '_' and '-'"),
  api_version: z
    .string()
    .trim()
    .regex(/^\d{4}-\d{2}-\d{2}(-preview)?$/, 'a date such as 2024-10-21 (optionally -preview)'),
  timeout_ms: z.number().int().min(100).max(600_000),
  enabled: z.boolean(),
};

const azureOnly = (
  v: { kind?: string | undefined; deployment?: unknown; api_version?: unknown },
  ctx: z.RefinementCtx,
) => {
  if (v.kind === undefined) return;
  if (v.kind === 'azure-openai' && v.deployment === undefined)
    ctx.addIssue({ code: 'custom', path: ['deployment'], message: 'required for azure-openai' });
  for (const f of ['deployment', 'api_version'] as const)
    if (v.kind !== 'azure-openai' && v[f] !== undefined && v[f] !== null)
      ctx.addIssue({ code: 'custom', path: [f], message: 'only for azure-openai providers' });
};

export const createProviderBody = z
  .strictObject({
    name: providerName,
    kind: z.enum(PROVIDER_KINDS),
    description: fields.description.default(''),
    base_url: fields.base_url,
    api_key: fields.api_key.optional(),
    deployment: fields.deployment.optional(),
    api_version: fields.api_version.optional(),
    timeout_ms: fields.timeout_ms.nullable().default(null),
    enabled: fields.enabled.default(true),
  })
  .superRefine(azureOnly)
  .meta({ id: 'CreateProvider' });
export type CreateProviderBody = z.infer<typeof createProviderBody>;

/**
 * A change: absent fields stay. `api_key: null` removes the key; the key's mask sent back keeps it.
 * Moving base_url to another host needs the key sent again, so a changed URL cannot carry the stored
 * key somewhere new.
 */
export const updateProviderBody = z
  .strictObject({
    name: providerName.optional(),
    description: fields.description.optional(),
    base_url: fields.base_url.optional(),
    api_key: z.string().max(4096).nullable().optional().describe('null removes the key; the mask keeps it'),
    deployment: fields.deployment.optional(),
    api_version: fields.api_version.optional(),
    timeout_ms: fields.timeout_ms.nullable().optional(),
    enabled: fields.enabled.optional(),
  })
  .meta({ id: 'UpdateProvider' });
export type UpdateProviderBody = z.infer<typeof updateProviderBody>;

export const providerTestResult = z
  .object({
    ok: z.boolean(),
    at: z.string(),
    latency_ms: z.number(),
    error_code: z.string().optional(),
  })
  .meta({ id: 'ProviderLastTest' });

export const providerView = z
  .object({
    id: z.string(),
    name: z.string(),
    kind: z.enum(PROVIDER_KINDS),
    description: z.string(),
    base_url: z.string(),
    deployment: z.string().nullable(),
    api_version: z.string().nullable(),
    api_key_set: z.boolean(),
    api_key_last4: z
      .string()
      .nullable()
      .optional()
      .describe('The key’s last characters, e.g. "…abcd" (those who may change providers only)'),
    timeout_ms: z.number().nullable(),
    enabled: z.boolean(),
    last_test: providerTestResult.nullable(),
    created_by: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: 'Provider' });
export type ProviderView = z.infer<typeof providerView>;

export const testResultView = z
  .object({
    ok: z.boolean(),
    latency_ms: z.number(),
    error: z
      .object({ code: z.string(), message: z.string(), upstream_status: z.number().optional() })
      .optional(),
  })
  .meta({ id: 'ProviderTest' });
export type TestResultView = z.infer<typeof testResultView>;

export const remoteModelsView = z
  .object({
    items: z.array(
      z.object({ id: z.string(), owned_by: z.string().optional(), size: z.number().optional() }),
    ),
  })
  .meta({ id: 'ProviderModels' });

export const registerModelBody = z
  .strictObject({
    model: z.string().trim().min(1).max(300).describe('The remote model id, as the provider lists it'),
    as: modelName
      .optional()
      .describe('Registry model name; defaults to the remote id with invalid characters replaced'),
    task: z.enum(MODEL_TASKS).default('chat'),
    description: z.string().max(10_000).optional(),
  })
  .meta({ id: 'RegisterProviderModel' });
export type RegisterModelBody = z.infer<typeof registerModelBody>;

export const registeredModelView = z
  .object({
    model_id: z.string(),
    model_name: z.string(),
    created_model: z.boolean(),
    version: versionView,
  })
  .meta({ id: 'RegisteredProviderModel' });
export type RegisteredModelView = z.infer<typeof registeredModelView>;
