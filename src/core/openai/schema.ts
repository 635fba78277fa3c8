import { z } from 'zod';
import { PARAMETER_FIELDS } from '../serving/parameters/schema.js';

/**
 * Request and response shapes of the OpenAI-compatible API, after OpenAI's published OpenAPI
 * document. Clients (and libraries such as LangChain) send `null` for "not set", so every optional
 * field takes null too. Parameters Polar cannot honour are accepted here only so that the service
 * can refuse a non-default value with a 400 naming it (see `unsupported.ts`); unknown top-level
 * fields are refused outright, as OpenAI does.
 */

const unrecognized = (iss: { code?: string; keys?: string[] }) =>
  iss.code === 'unrecognized_keys'
    ? `Unrecognized request argument${iss.keys!.length > 1 ? 's' : ''} supplied: ${iss.keys!.join(', ')}`
    : undefined;

const opt = <T extends z.ZodType>(t: T) => t.nullable().optional();

const maxTokens = (name: string) =>
  z
    .number({ error: `${name} must be an integer between 1 and 2048` })
    .int()
    .min(1)
    .max(2048)
    .describe(`Largest number of new tokens, 1–2048 (default: the model's max_length)`);

const stop = z
  .union([z.string().min(1).max(100), z.array(z.string().min(1).max(100)).max(4)], {
    error: 'stop must be a string or an array of at most 4 non-empty strings',
  })
  .describe('Up to 4 strings; generation ends before any of them');

/** What Polar maps onto its generation parameters, shared by chat and text completions. */
const sampling = {
  model: z.string().min(1).max(200).describe('name, name@alias or name:version'),
  max_tokens: opt(maxTokens('max_tokens')),
  temperature: opt(PARAMETER_FIELDS.temperature),
  top_p: opt(PARAMETER_FIELDS.top_p),
  seed: opt(
    z
      .number({ error: 'seed must be an integer between 0 and 4294967295' })
      .int()
      .min(0)
      .max(2 ** 32 - 1),
  ),
  stop: opt(stop),
  n: opt(z.number().int().min(1).max(128).describe('Only 1 is supported')),
  stream: opt(z.boolean()),
  stream_options: opt(
    z.strictObject({ include_usage: z.boolean().optional(), include_obfuscation: z.boolean().optional() }),
  ),
  user: z.string().max(256).optional().describe('The end user, for the caller’s own tracing'),
  // Polar extensions.
  top_k: opt(PARAMETER_FIELDS.top_k),
  repetition_penalty: opt(PARAMETER_FIELDS.repetition_penalty),
  // OpenAI parameters accepted only at their default value.
  frequency_penalty: opt(z.number()).describe('Only 0 is supported'),
  presence_penalty: opt(z.number()).describe('Only 0 is supported'),
  logit_bias: opt(z.record(z.string(), z.number())).describe('Only an empty map is supported'),
};

const part = z
  .looseObject({ type: z.string().max(64), text: z.string().max(1_000_000).optional() })
  .describe('Only text parts are supported');
const content = z.union([z.string().max(1_000_000), z.array(part).max(1000)]);

// Loose: a client may send back an assistant message as it received it (refusal, annotations, ...).
const message = z.looseObject({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool', 'function']),
  content: opt(content),
  name: z.string().max(256).optional(),
  tool_calls: opt(z.array(z.unknown())),
  function_call: opt(z.unknown()),
  audio: opt(z.unknown()),
});
export type OpenAIMessage = z.infer<typeof message>;

export const chatCompletionBody = z
  .strictObject(
    {
      messages: z.array(message).min(1).max(10_000),
      ...sampling,
      max_completion_tokens: opt(maxTokens('max_completion_tokens')),
      logprobs: opt(z.boolean()).describe('Only false is supported'),
      top_logprobs: opt(z.number().int()).describe('Not supported'),
      tools: opt(z.array(z.unknown())).describe('Not supported'),
      tool_choice: opt(z.unknown()).describe('Only "none" or "auto" without tools'),
      parallel_tool_calls: opt(z.boolean()),
      functions: opt(z.array(z.unknown())).describe('Not supported'),
      function_call: opt(z.unknown()).describe('Not supported'),
      response_format: opt(z.looseObject({ type: z.string() })).describe('Only {"type":"text"}'),
      store: opt(z.boolean()).describe('Only false is supported'),
      metadata: opt(z.record(z.string(), z.string())),
      service_tier: opt(z.string()),
      modalities: opt(z.array(z.string())).describe('Only ["text"]'),
    },
    { error: unrecognized },
  )
  .meta({ id: 'OpenAIChatCompletionRequest' });
export type ChatCompletionBody = z.infer<typeof chatCompletionBody>;

export const completionBody = z
  .strictObject(
    {
      prompt: z
        .union([
          z.string().max(1_000_000),
          z.array(z.union([z.string().max(1_000_000), z.number(), z.array(z.number())])).min(1),
        ])
        .describe('A string, or an array of one string (token arrays are not supported)'),
      ...sampling,
      echo: opt(z.boolean()).describe('Only false is supported'),
      suffix: opt(z.string()).describe('Not supported'),
      best_of: opt(z.number().int()).describe('Only 1 is supported'),
      logprobs: opt(z.number().int()).describe('Not supported'),
    },
    { error: unrecognized },
  )
  .meta({ id: 'OpenAICompletionRequest' });
export type CompletionBody = z.infer<typeof completionBody>;

export const embeddingBody = z
  .strictObject(
    {
      model: z.string().min(1).max(200).describe('name, name@alias or name:version'),
      input: z
        .union([
          z.string().min(1).max(1_000_000),
          z
            .array(z.union([z.string().min(1).max(1_000_000), z.number(), z.array(z.number())]))
            .min(1)
            .max(2048),
        ])
        .describe('A string or an array of strings (token arrays are not supported)'),
      encoding_format: opt(z.enum(['float', 'base64'])),
      dimensions: opt(z.number().int().min(1)).describe("Must equal the model's own dimensions"),
      user: z.string().max(256).optional(),
    },
    { error: unrecognized },
  )
  .meta({ id: 'OpenAIEmbeddingRequest' });
export type EmbeddingBody = z.infer<typeof embeddingBody>;

export const modelParams = z.object({ model: z.string().min(1).max(200) });

// Responses (documentation and serialization; the tests check them against OpenAI's document).

const usage = z
  .object({
    prompt_tokens: z.number().int(),
    completion_tokens: z.number().int(),
    total_tokens: z.number().int(),
  })
  .meta({ id: 'OpenAICompletionUsage' });
const finishReason = z.enum(['stop', 'length']);

export const modelObject = z
  .object({ id: z.string(), object: z.literal('model'), created: z.number().int(), owned_by: z.string() })
  .meta({ id: 'OpenAIModel' });
export const modelList = z
  .object({ object: z.literal('list'), data: z.array(modelObject) })
  .meta({ id: 'OpenAIModelList' });

export const chatCompletion = z
  .object({
    id: z.string(),
    object: z.literal('chat.completion'),
    created: z.number().int(),
    model: z.string(),
    choices: z.array(
      z.object({
        index: z.number().int(),
        message: z.object({ role: z.literal('assistant'), content: z.string(), refusal: z.null() }),
        logprobs: z.null(),
        finish_reason: finishReason,
      }),
    ),
    usage,
  })
  .meta({
    id: 'OpenAIChatCompletion',
    description: 'With "stream": true, text/event-stream of chat.completion.chunk objects, then [DONE]',
  });

export const textCompletion = z
  .object({
    id: z.string(),
    object: z.literal('text_completion'),
    created: z.number().int(),
    model: z.string(),
    choices: z.array(
      z.object({
        index: z.number().int(),
        text: z.string(),
        logprobs: z.null(),
        finish_reason: finishReason,
      }),
    ),
    usage,
  })
  .meta({
    id: 'OpenAITextCompletion',
    description: 'With "stream": true, text/event-stream of text_completion objects, then [DONE]',
  });

export const embeddingList = z
  .object({
    object: z.literal('list'),
    data: z.array(
      z.object({
        object: z.literal('embedding'),
        index: z.number().int(),
        embedding: z
          .union([z.array(z.number()), z.string()])
          .describe('Floats, or with encoding_format base64 their little-endian float32 bytes'),
      }),
    ),
    model: z.string(),
    usage: z.object({ prompt_tokens: z.number().int(), total_tokens: z.number().int() }),
  })
  .meta({ id: 'OpenAIEmbeddingList' });
