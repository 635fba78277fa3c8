import { ValidationError } from '../../platform/errors.js';
import type { ParameterOverrides } from '../inference/types.js';
import type { ChatMessage } from '../runtimes/types.js';
import type { ChatCompletionBody, CompletionBody, EmbeddingBody, OpenAIMessage } from './schema.js';

/**
 * OpenAI requests in Polar's terms. A parameter Polar cannot honour is refused with a 400 naming it
 * rather than ignored, so a client never silently gets something other than what it asked for.
 */

const unsupported = (param: string, message: string) =>
  new ValidationError(message, [{ path: param, message }], 'unsupported_parameter');

const isEmpty = (v: unknown) =>
  v === undefined ||
  v === null ||
  (Array.isArray(v) && v.length === 0) ||
  (typeof v === 'object' && Object.keys(v as object).length === 0);

type Rule = [param: string, isDefault: (v: unknown) => boolean, accepted: string];

const COMMON: Rule[] = [
  ['n', (v) => v == null || v === 1, 'n must be 1: Polar returns one choice per request'],
  [
    'frequency_penalty',
    (v) => v == null || v === 0,
    'frequency_penalty is not supported (only 0); use repetition_penalty',
  ],
  [
    'presence_penalty',
    (v) => v == null || v === 0,
    'presence_penalty is not supported (only 0); use repetition_penalty',
  ],
  ['logit_bias', isEmpty, 'logit_bias is not supported'],
];

const CHAT: Rule[] = [
  ...COMMON,
  ['logprobs', (v) => v == null || v === false, 'logprobs is not supported'],
  ['top_logprobs', (v) => v == null || v === 0, 'top_logprobs is not supported'],
  ['tools', isEmpty, 'tools are not supported: Polar models do not call tools'],
  ['functions', isEmpty, 'functions are not supported: Polar models do not call functions'],
  ['function_call', (v) => v == null || v === 'none', 'function_call is not supported'],
  ['tool_choice', (v) => v == null || v === 'none' || v === 'auto', 'tool_choice is not supported'],
  [
    'response_format',
    (v) => v == null || (v as { type?: unknown }).type === 'text',
    'response_format is not supported (only {"type": "text"})',
  ],
  ['store', (v) => v == null || v === false, 'store is not supported: Polar does not keep completions'],
  [
    'modalities',
    (v) => v == null || (Array.isArray(v) && v.every((m) => m === 'text')),
    'modalities other than "text" are not supported',
  ],
];

const COMPLETION: Rule[] = [
  ...COMMON,
  ['echo', (v) => v == null || v === false, 'echo is not supported'],
  ['suffix', (v) => v == null || v === '', 'suffix is not supported'],
  ['best_of', (v) => v == null || v === 1, 'best_of must be 1'],
  ['logprobs', (v) => v == null, 'logprobs is not supported'],
];

function refuse(request: object, rules: Rule[]) {
  const body = request as Record<string, unknown>;
  for (const [param, isDefault, message] of rules) {
    if (!isDefault(body[param])) throw unsupported(param, message);
  }
  if (body.stream_options != null && body.stream !== true)
    throw unsupported('stream_options', 'stream_options is only allowed when stream is true');
}

/** The generation parameters a request sets; the rest fall back to the model's defaults. */
export function toParameters(body: ChatCompletionBody | CompletionBody): ParameterOverrides {
  const out: ParameterOverrides = {};
  const maxTokens = ('max_completion_tokens' in body ? body.max_completion_tokens : null) ?? body.max_tokens;
  if (maxTokens != null) out.max_length = maxTokens;
  if (body.temperature != null) out.temperature = body.temperature;
  if (body.top_p != null) out.top_p = body.top_p;
  if (body.top_k != null) out.top_k = body.top_k;
  if (body.repetition_penalty != null) out.repetition_penalty = body.repetition_penalty;
  if (body.seed != null) out.seed = body.seed;
  const stop = typeof body.stop === 'string' ? [body.stop] : body.stop;
  if (stop?.length) out.stop = stop;
  return out;
}

function textOf(m: OpenAIMessage, i: number): string {
  const c = m.content;
  if (c == null) return '';
  if (typeof c === 'string') return c;
  return c
    .map((p, j) => {
      if (p.type !== 'text' || typeof p.text !== 'string')
        throw unsupported(
          `messages[${i}].content[${j}].type`,
          `content parts of type '${p.type}' are not supported (only 'text')`,
        );
      return p.text;
    })
    .join('\n');
}

/** Chat messages for the runtime: developer messages are system messages; tools are refused. */
export function toChatMessages(messages: OpenAIMessage[]): ChatMessage[] {
  return messages.map((m, i) => {
    if (m.role === 'tool' || m.role === 'function')
      throw unsupported(`messages[${i}].role`, `messages with role '${m.role}' are not supported`);
    if (!isEmpty(m.tool_calls) || m.function_call != null)
      throw unsupported(`messages[${i}].tool_calls`, 'tool calls are not supported');
    if (m.audio != null) throw unsupported(`messages[${i}].audio`, 'audio is not supported');
    return { role: m.role === 'developer' ? 'system' : m.role, content: textOf(m, i) };
  });
}

export function checkChatRequest(body: ChatCompletionBody) {
  refuse(body, CHAT);
}

/** The one prompt of a completion request. */
export function toPrompt(body: CompletionBody): string {
  refuse(body, COMPLETION);
  const p = body.prompt;
  if (typeof p === 'string') return p;
  if (p.some((x) => typeof x !== 'string'))
    throw unsupported('prompt', 'token arrays are not supported: send the prompt as text');
  if (p.length > 1) throw unsupported('prompt', 'one prompt per request: send an array of one string');
  return p[0] as string;
}

export function toEmbeddingInputs(body: EmbeddingBody): string[] {
  const input = body.input;
  if (typeof input === 'string') return [input];
  if (input.some((x) => typeof x !== 'string'))
    throw unsupported('input', 'token arrays are not supported: send the input as text');
  return input as string[];
}

/** `dimensions` asks OpenAI models to shorten their embeddings; Polar's models cannot. */
export function checkDimensions(body: EmbeddingBody, has: number) {
  if (body.dimensions != null && body.dimensions !== has)
    throw unsupported(
      'dimensions',
      `dimensions must be ${has} for this model (asked ${body.dimensions}): its embeddings cannot be shortened`,
    );
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** OpenAI's base64 embeddings: the vector's float32 bytes, little-endian. */
export function base64Floats(vector: number[]): string {
  const floats = Float32Array.from(vector);
  const buf = Buffer.from(floats.buffer, floats.byteOffset, floats.byteLength);
  if (!LITTLE_ENDIAN) buf.swap32();
  return buf.toString('base64');
}
