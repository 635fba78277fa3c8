import { randomBytes } from 'node:crypto';
import type { RequestContext } from '../../hub/auth/principal.js';
import type { GenerationStream, InferenceService, ServedModel } from '../inference/types.js';
import { modelNotFound } from '../registry/errors.js';
import type { GenerateEvent, TokenUsage } from '../runtimes/types.js';
import type { Target } from '../serving/target.js';
import { generationCancelled } from './errors.js';
import {
  base64Floats,
  checkChatRequest,
  checkDimensions,
  toChatMessages,
  toEmbeddingInputs,
  toParameters,
  toPrompt,
} from './request.js';
import type { ChatCompletionBody, CompletionBody, EmbeddingBody } from './schema.js';

export interface OpenAIDeps {
  inference: InferenceService;
  /** The version `ref` (name, name@alias, name:version) addresses for the caller; 404 if not visible. */
  resolve(ctx: RequestContext, ref: string): Promise<Target>;
}

/** A generation that has started (slot held, model loaded), with the ids its answer carries. */
export interface Generation {
  id: string;
  /** Unix seconds. */
  created: number;
  model: string;
  version: number;
  stream: GenerationStream;
  signal: AbortSignal;
}

interface Finished {
  finish_reason: 'stop' | 'length';
  usage: TokenUsage & { total_tokens: number };
}

const newId = (prefix: string) => `${prefix}-${randomBytes(15).toString('base64url')}`;

const modelObject = (m: ServedModel, id = m.name) => ({
  id,
  object: 'model' as const,
  created: Math.floor(m.created_at.getTime() / 1000),
  owned_by: m.owner_id ?? 'polar',
});

/** Text pieces of a generation, returning how it ended; an interrupted one is an error, never 'stop'. */
async function* pieces(g: Generation): AsyncGenerator<string, Finished> {
  let done: Extract<GenerateEvent, { type: 'done' }> | undefined;
  for await (const e of g.stream) {
    if (e.type === 'done') done = e;
    else if (e.text) yield e.text;
  }
  if (!done || done.finish_reason === 'cancelled' || g.signal.aborted) throw generationCancelled();
  const { prompt_tokens, completion_tokens } = done.usage;
  return {
    finish_reason: done.finish_reason,
    usage: { prompt_tokens, completion_tokens, total_tokens: prompt_tokens + completion_tokens },
  };
}

async function collect(g: Generation): Promise<Finished & { text: string }> {
  const it = pieces(g);
  let text = '';
  for (;;) {
    const r = await it.next();
    if (r.done) return { ...r.value, text };
    text += r.value;
  }
}

/**
 * Streams `g` as OpenAI chunks: `open` first, one `piece` per text, `close` with the finish reason,
 * then (include_usage) a chunk with no choices and the usage. With include_usage, chat chunks carry
 * `usage: null` before that, as OpenAI's do; text completion chunks leave it out, since OpenAI's
 * document does not allow null there.
 */
async function* chunks<C>(
  g: Generation,
  includeUsage: boolean,
  shape: {
    base: object;
    usageNull: boolean;
    open?: C;
    piece: (text: string) => C;
    close: (f: Finished['finish_reason']) => C;
  },
) {
  const usageNull = includeUsage && shape.usageNull ? { usage: null } : {};
  const chunk = (choice: C) => ({ ...shape.base, choices: [choice], ...usageNull });
  if (shape.open) yield chunk(shape.open);
  const it = pieces(g);
  try {
    for (;;) {
      const r = await it.next();
      if (r.done) {
        yield chunk(shape.close(r.value.finish_reason));
        if (includeUsage) yield { ...shape.base, choices: [], usage: r.value.usage };
        return;
      }
      yield chunk(shape.piece(r.value));
    }
  } finally {
    // Closed early (the client left): close the generation too, which stops it and frees its slot.
    await it.return(undefined as never);
  }
}

/** The OpenAI-compatible API over Polar's inference service. */
export function createOpenAI(deps: OpenAIDeps) {
  const started = (prefix: string, stream: GenerationStream, signal: AbortSignal): Generation => ({
    id: newId(prefix),
    created: Math.floor(stream.createdAt.getTime() / 1000),
    model: stream.model,
    version: stream.version,
    stream,
    signal,
  });

  return {
    async listModels(ctx: RequestContext) {
      const models = await deps.inference.listModels(ctx);
      return { object: 'list' as const, data: models.map((m) => modelObject(m)) };
    },

    /** A servable model by name, name@alias or name:version, with the version that addresses. */
    async getModel(ctx: RequestContext, ref: string) {
      const t = await deps.resolve(ctx, ref);
      // Visible but with no runtime that can serve it: not a model of this API.
      const served = (await deps.inference.listModels(ctx)).find((m) => m.id === t.model.id);
      if (!served) throw modelNotFound();
      return { model: modelObject(served, ref), version: t.version.version };
    },

    async startChat(ctx: RequestContext, body: ChatCompletionBody, signal: AbortSignal) {
      checkChatRequest(body);
      const stream = await deps.inference.generate(ctx, {
        model: body.model,
        input: { kind: 'chat', messages: toChatMessages(body.messages) },
        parameters: toParameters(body),
        endpoint: 'chat_completions',
        signal,
      });
      return started('chatcmpl', stream, signal);
    },

    async startCompletion(ctx: RequestContext, body: CompletionBody, signal: AbortSignal) {
      const prompt = toPrompt(body);
      const stream = await deps.inference.generate(ctx, {
        model: body.model,
        input: { kind: 'completion', prompt },
        parameters: toParameters(body),
        endpoint: 'completions',
        signal,
      });
      return started('cmpl', stream, signal);
    },

    async chatResult(g: Generation) {
      const r = await collect(g);
      return {
        id: g.id,
        object: 'chat.completion' as const,
        created: g.created,
        model: g.model,
        choices: [
          {
            index: 0,
            message: { role: 'assistant' as const, content: r.text, refusal: null },
            logprobs: null,
            finish_reason: r.finish_reason,
          },
        ],
        usage: r.usage,
      };
    },

    chatChunks(g: Generation, includeUsage: boolean) {
      const choice = (delta: object, finish_reason: string | null) => ({
        index: 0,
        delta,
        logprobs: null,
        finish_reason,
      });
      return chunks(g, includeUsage, {
        base: { id: g.id, object: 'chat.completion.chunk', created: g.created, model: g.model },
        usageNull: true,
        open: choice({ role: 'assistant', content: '' }, null),
        piece: (text) => choice({ content: text }, null),
        close: (f) => choice({}, f),
      });
    },

    async completionResult(g: Generation) {
      const r = await collect(g);
      return {
        id: g.id,
        object: 'text_completion' as const,
        created: g.created,
        model: g.model,
        choices: [{ index: 0, text: r.text, logprobs: null, finish_reason: r.finish_reason }],
        usage: r.usage,
      };
    },

    completionChunks(g: Generation, includeUsage: boolean) {
      // OpenAI's API sends finish_reason null until the last choice (its document omits the null).
      const choice = (text: string, finish_reason: string | null) => ({
        index: 0,
        text,
        logprobs: null,
        finish_reason,
      });
      return chunks(g, includeUsage, {
        base: { id: g.id, object: 'text_completion', created: g.created, model: g.model },
        usageNull: false,
        piece: (text) => choice(text, null),
        close: (f) => choice('', f),
      });
    },

    async embeddings(ctx: RequestContext, body: EmbeddingBody, signal: AbortSignal) {
      const r = await deps.inference.embed(ctx, {
        model: body.model,
        inputs: toEmbeddingInputs(body),
        endpoint: 'embeddings',
        signal,
      });
      checkDimensions(body, r.embeddings[0]?.length ?? 0);
      const base64 = body.encoding_format === 'base64';
      return {
        version: r.version,
        body: {
          object: 'list' as const,
          data: r.embeddings.map((v, index) => ({
            object: 'embedding' as const,
            index,
            embedding: base64 ? base64Floats(v) : v,
          })),
          model: r.model,
          usage: { prompt_tokens: r.prompt_tokens, total_tokens: r.prompt_tokens },
        },
      };
    },
  };
}
export type OpenAI = ReturnType<typeof createOpenAI>;
