import { z } from 'zod';
import { UpstreamError } from './errors.js';
import { readLines } from './lines.js';
import type {
  CallOptions,
  ClientConfig,
  RemoteModel,
  UpstreamChatEvent,
  UpstreamChatRequest,
  UpstreamClient,
  UpstreamUsage,
} from './types.js';

/**
 * OpenAI-compatible APIs: OpenAI itself, vLLM, LM Studio, llama.cpp's server, Ollama's /v1. The base
 * URL includes the version segment (…/v1); paths are appended to it. Answers are parsed leniently
 * (servers add fields) but what Polar reads must be there with the right type, or the answer is an
 * upstream_bad_response rather than a crash further in.
 */
const modelList = z.object({
  data: z.array(z.looseObject({ id: z.string(), owned_by: z.string().nullish() })),
});

const usage = z
  .object({
    prompt_tokens: z.number().int().nonnegative(),
    completion_tokens: z.number().int().nonnegative(),
  })
  .nullish()
  .catch(null);

const completion = z.object({
  model: z.string().nullish(),
  choices: z
    .array(
      z.object({
        message: z.object({ content: z.string().nullish() }).nullish(),
        finish_reason: z.string().nullish(),
      }),
    )
    .min(1),
  usage,
});

const chunk = z.object({
  choices: z
    .array(
      z.object({
        delta: z.object({ content: z.string().nullish() }).nullish(),
        finish_reason: z.string().nullish(),
      }),
    )
    .default([]),
  usage,
});

const shapeError = (host: string, what: string, error: z.ZodError) =>
  new UpstreamError(
    'upstream_bad_response',
    `${host} answered ${what} in an unexpected shape (${error.issues[0]?.path.join('.') || 'root'}: ${error.issues[0]?.message})`,
  );

export function parseOrThrow<T extends z.ZodType>(
  schema: T,
  value: unknown,
  host: string,
  what: string,
): z.infer<T> {
  const r = schema.safeParse(value);
  if (!r.success) throw shapeError(host, what, r.error);
  return r.data;
}

const toUsage = (u: z.infer<typeof usage>): UpstreamUsage | null =>
  u ? { prompt_tokens: u.prompt_tokens, completion_tokens: u.completion_tokens } : null;

/** How one OpenAI-shaped API is addressed; Azure differs only in URLs and the key header. */
export interface OpenAIShape {
  kind: UpstreamClient['kind'];
  chatUrl: URL;
  pingUrl: URL;
  headers: Record<string, string>;
  /** Azure takes the model from the deployment in the URL. */
  sendModel: boolean;
  listModels(opts: CallOptions): Promise<RemoteModel[]>;
}

/** The request body for /chat/completions: only fields every compatible server knows. */
function chatBody(req: UpstreamChatRequest, stream: boolean, sendModel: boolean) {
  return {
    ...(sendModel ? { model: req.model } : {}),
    messages: req.messages,
    ...(req.temperature !== undefined ? { temperature: req.temperature } : {}),
    ...(req.top_p !== undefined ? { top_p: req.top_p } : {}),
    ...(req.max_tokens !== undefined ? { max_tokens: req.max_tokens } : {}),
    ...(req.stop?.length ? { stop: req.stop } : {}),
    ...(req.seed !== undefined ? { seed: req.seed } : {}),
    ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
  };
}

/** A client over any OpenAI-shaped API. */
export function openAIShapedClient(cfg: ClientConfig, shape: OpenAIShape): UpstreamClient {
  const secrets = cfg.apiKey ? [cfg.apiKey] : [];
  const host = shape.chatUrl.host;
  const call = (url: URL, opts: CallOptions, json?: unknown) => ({
    method: json === undefined ? ('GET' as const) : ('POST' as const),
    url,
    headers: shape.headers,
    json,
    signal: opts.signal,
    timeoutMs: opts.timeoutMs ?? cfg.timeoutMs,
    secrets,
  });

  return {
    kind: shape.kind,
    async ping(opts = {}) {
      await cfg.transport.json(call(shape.pingUrl, opts), { maxBytes: cfg.maxResponseBytes });
    },
    listModels: (opts = {}) => shape.listModels(opts),
    async chat(req, opts = {}) {
      const raw = await cfg.transport.json(call(shape.chatUrl, opts, chatBody(req, false, shape.sendModel)), {
        maxBytes: cfg.maxResponseBytes,
      });
      const c = parseOrThrow(completion, raw, host, 'a chat completion');
      const choice = c.choices[0];
      return {
        text: choice?.message?.content ?? '',
        finish_reason: choice?.finish_reason ?? 'stop',
        usage: toUsage(c.usage),
        model: c.model ?? req.model,
      };
    },
    async *chatStream(req, opts = {}): AsyncGenerator<UpstreamChatEvent> {
      const res = await cfg.transport.open(call(shape.chatUrl, opts, chatBody(req, true, shape.sendModel)));
      let finish: string | null = null;
      let last: UpstreamUsage | null = null;
      for await (const line of readLines(res.body, {
        idleMs: cfg.idleTimeoutMs,
        signal: opts.signal,
        host,
      })) {
        // SSE: only data lines matter; comments (':…'), event names and blank separators do not.
        if (!line.startsWith('data:')) continue;
        const data = line.slice(5).trim();
        if (data === '[DONE]') {
          yield { type: 'done', finish_reason: finish ?? 'stop', usage: last };
          return;
        }
        let parsed: unknown;
        try {
          parsed = JSON.parse(data);
        } catch {
          throw new UpstreamError('upstream_bad_response', `${host} sent a stream chunk that is not JSON`);
        }
        const err = (parsed as { error?: unknown })?.error;
        if (err) {
          throw new UpstreamError('upstream_error', `${host} reported an error in the middle of the stream`);
        }
        const c = parseOrThrow(chunk, parsed, host, 'a stream chunk');
        last = toUsage(c.usage) ?? last;
        for (const choice of c.choices) {
          if (choice.delta?.content) yield { type: 'text', text: choice.delta.content };
          if (choice.finish_reason) finish = choice.finish_reason;
        }
      }
      // The stream closed without [DONE]: a server that finished said so; one that did not was cut.
      if (finish) {
        yield { type: 'done', finish_reason: finish, usage: last };
        return;
      }
      throw new UpstreamError(
        'upstream_disconnected',
        `${host}: the stream ended before the answer finished`,
      );
    },
  };
}

/** Appends a path to a base URL that may or may not end with '/'. */
export function under(base: string, path: string): URL {
  const u = new URL(base);
  u.pathname = `${u.pathname.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
  return u;
}

export function openAIClient(cfg: ClientConfig): UpstreamClient {
  const headers: Record<string, string> = cfg.apiKey ? { authorization: `Bearer ${cfg.apiKey}` } : {};
  const modelsUrl = under(cfg.baseUrl, 'models');
  const client = openAIShapedClient(cfg, {
    kind: 'openai',
    chatUrl: under(cfg.baseUrl, 'chat/completions'),
    pingUrl: modelsUrl,
    headers,
    sendModel: true,
    async listModels(opts) {
      const raw = await cfg.transport.json(
        {
          method: 'GET',
          url: modelsUrl,
          headers,
          signal: opts.signal,
          timeoutMs: opts.timeoutMs ?? cfg.timeoutMs,
          secrets: cfg.apiKey ? [cfg.apiKey] : [],
        },
        { maxBytes: cfg.maxResponseBytes },
      );
      const list = parseOrThrow(modelList, raw, modelsUrl.host, 'the model list');
      return list.data.map((m) => ({ id: m.id, ...(m.owned_by ? { owned_by: m.owned_by } : {}) }));
    },
  });
  return client;
}
