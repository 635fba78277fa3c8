import { z } from 'zod';
import { ValidationError } from '../../../platform/errors.js';
import type { GenerationParameters } from '../../runtimes/types.js';

/**
 * Generation parameters as seed 003 names them, with its ranges and defaults. One schema per field
 * so an out-of-range value is reported with the field and its range, and so `resolveParameters`
 * can check each layer's value on its own.
 */
const between = (name: string, min: number, max: number) =>
  z
    .number({ error: `${name} must be between ${min} and ${max}` })
    .min(min)
    .max(max);
const intBetween = (name: string, min: number, max: number) =>
  z
    .number({ error: `${name} must be an integer between ${min} and ${max}` })
    .int()
    .min(min)
    .max(max);
// Token ids index a vocabulary; no tokenizer has more than 2^31 entries.
const tokenId = (name: string) =>
  z
    .number({ error: `${name} must be an integer between 0 and 2147483647` })
    .int()
    .min(0)
    .max(2_147_483_647);
const flag = (name: string) => z.boolean({ error: `${name} must be true or false` });

export const PARAMETER_FIELDS = {
  temperature: between('temperature', 0, 2).describe('Sampling temperature, 0–2 (default 1.0)'),
  top_k: intBetween('top_k', 1, 100).describe('Sample from the k most likely tokens, 1–100 (default 50)'),
  top_p: between('top_p', 0, 1).describe('Nucleus sampling mass, 0–1 (default 0.9)'),
  max_length: intBetween('max_length', 1, 2048).describe(
    'Largest number of new tokens, 1–2048 (default 100)',
  ),
  repetition_penalty: between('repetition_penalty', 0, 2).describe(
    'Penalty on repeated tokens, 0–2 (default 1.0: none)',
  ),
  do_sample: flag('do_sample').describe('Sample (true) or decode greedily (false) (default true)'),
  num_beams: intBetween('num_beams', 1, 10).describe('Beam search width, 1–10 (default 1: no beam search)'),
  length_penalty: between('length_penalty', 0, 2).describe('Beam search length penalty, 0–2 (default 1.0)'),
  early_stopping: flag('early_stopping').describe('Stop beam search once enough beams end (default false)'),
  pad_token_id: tokenId('pad_token_id').optional().describe('Padding token id (default: the model’s own)'),
  eos_token_id: tokenId('eos_token_id')
    .optional()
    .describe('End-of-sequence token id (default: the model’s own)'),
} as const;

export type ParameterName = keyof typeof PARAMETER_FIELDS;
export const PARAMETER_NAMES = Object.keys(PARAMETER_FIELDS) as ParameterName[];

const unknownNames = (iss: { code?: string; keys?: string[] }) =>
  iss.code === 'unrecognized_keys'
    ? `unknown parameter${iss.keys!.length > 1 ? 's' : ''} ${iss.keys!.join(', ')} (known: ${PARAMETER_NAMES.join(', ')})`
    : undefined;

/** Every parameter with a value (token ids stay optional: they have no default). */
export const modelParametersSchema = z
  .strictObject(PARAMETER_FIELDS, { error: unknownNames })
  .meta({ id: 'ModelParameters' });
export type ModelParameters = z.infer<typeof modelParametersSchema>;

/**
 * Any subset of the parameters, range-checked; an unknown name is refused rather than ignored so
 * that a typo cannot silently fall back to a default. Shared by every API that takes overrides.
 */
export const parameterOverridesSchema = modelParametersSchema
  .partial()
  .meta({ id: 'ModelParameterOverrides' });
export type ParameterOverrides = z.infer<typeof parameterOverridesSchema>;

export const DEFAULT_PARAMETERS: Readonly<ModelParameters> = Object.freeze({
  temperature: 1.0,
  top_k: 50,
  top_p: 0.9,
  max_length: 100,
  repetition_penalty: 1.0,
  do_sample: true,
  num_beams: 1,
  length_penalty: 1.0,
  early_stopping: false,
});

const valid = (name: ParameterName, value: unknown) =>
  value !== undefined && PARAMETER_FIELDS[name].safeParse(value).success;

/**
 * The parameters a generation uses: for each field, the request's value, else the model's stored
 * one, else the runtime's default (read from the model file), else Polar's default. Request and
 * stored values were validated on their way in; runtime defaults come from model files and may be
 * anything, so a value outside its range at any layer is passed over rather than trusted. `seed` and
 * `stop` are per request only and are taken from the request alone.
 */
export function resolveParameters(layers: {
  runtime?: Partial<GenerationParameters> | undefined;
  model?: Partial<GenerationParameters> | undefined;
  request?: Partial<GenerationParameters> | undefined;
}): GenerationParameters {
  const order = [layers.request, layers.model, layers.runtime];
  const out: Record<string, unknown> = {};
  for (const name of PARAMETER_NAMES) {
    const hit = order.find((l) => l && valid(name, l[name]));
    const value = hit ? hit[name] : DEFAULT_PARAMETERS[name as keyof ModelParameters];
    if (value !== undefined) out[name] = value;
  }
  const { seed, stop } = layers.request ?? {};
  if (seed !== undefined) out.seed = seed;
  if (stop !== undefined) out.stop = stop;
  return out as unknown as GenerationParameters;
}

/** The stored overrides alone, dropping anything that is no longer a valid parameter. */
export function cleanOverrides(stored: Record<string, unknown> | null | undefined): ParameterOverrides {
  const out: Record<string, unknown> = {};
  for (const name of PARAMETER_NAMES) if (stored && valid(name, stored[name])) out[name] = stored[name];
  return out as ParameterOverrides;
}

export const modelParams = z.object({ id: z.string().min(1).max(128) });

export const ifMatchHeaders = z.looseObject({
  'if-match': z
    .string()
    .max(100)
    .optional()
    .describe('"<version>" as in the ETag of GET …/parameters; a stale version is refused with 409'),
});

/** The version a client expects from `If-Match: "3"` (ETag form, weak or not); `*` means any. */
export function expectedVersion(ifMatch: string | undefined): number | undefined {
  if (ifMatch === undefined || ifMatch.trim() === '*') return undefined;
  const m = /^\s*(?:W\/)?"?(\d{1,9})"?\s*$/.exec(ifMatch);
  if (!m) {
    throw new ValidationError(
      'If-Match must be the parameters version from the ETag, e.g. "3"',
      [{ path: 'headers.if-match', message: 'must be a version number' }],
      'invalid_if_match',
    );
  }
  return Number(m[1]);
}
export const etagOf = (version: number) => `"${version}"`;

export const updateParametersBody = z.strictObject({ parameters: parameterOverridesSchema });

export const parametersView = z
  .object({
    model_id: z.string(),
    parameters: modelParametersSchema,
    last_updated: z
      .string()
      .nullable()
      .describe('When the stored parameters last changed (update or reset); null if never: all defaults'),
  })
  .meta({ id: 'ModelParametersView' });
export type ParametersView = z.infer<typeof parametersView>;

export const parametersUpdated = z
  .object({
    status: z.literal('success'),
    message: z.string(),
    model_id: z.string(),
    updated_parameters: parameterOverridesSchema,
    updated_at: z.string(),
  })
  .meta({ id: 'ModelParametersUpdated' });
export type ParametersUpdated = z.infer<typeof parametersUpdated>;

export const parametersReset = z
  .object({
    status: z.literal('success'),
    message: z.string(),
    model_id: z.string(),
    default_parameters: modelParametersSchema,
    reset_at: z.string(),
  })
  .meta({ id: 'ModelParametersReset' });
export type ParametersReset = z.infer<typeof parametersReset>;
