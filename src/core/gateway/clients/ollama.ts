import { z } from 'zod';
import { UpstreamError } from './errors.js';
import { readLines } from './lines.js';
import { parseOrThrow, under } from './openai.js';
import type {
  CallOptions,
  ClientConfig,
  UpstreamChatEvent,
  UpstreamChatRequest,
  UpstreamClient,
  UpstreamUsage,
} from './types.js';

/**
 * Ollama's native API at the server root: /api/version, /api/tags, and /api/chat, which streams
 * newline-delimited JSON objects, the last with `done: true` and the token counts. A key is optional
 * (Ollama has none; a proxy in front of it may want a bearer token).
 */
const tags = z.object({
  models: z.array(z.looseObject({ name: z.string(), size: z.number().nullish() })).default([]),
});

const count = z.number().int().nonnegative().nullish().catch(null);
const chatLine = z.object({
  model: z.string().nullish(),
  message: z.object({ content: z.string().nullish() }).nullish(),
  done: z.boolean().default(false),
  done_reason: z.string().nullish(),
  prompt_eval_count: count,
  eval_count: count,
  error: z.string().nullish(),
});

const usageOf = (l: z.infer<typeof chatLine>): UpstreamUsage | null =>
  l.prompt_eval_count == null && l.eval_count == null
    ? null
    : { prompt_tokens: l.prompt_eval_count ?? 0, completion_tokens: l.eval_count ?? 0 };

function chatBody(req: UpstreamChatRequest, stream: boolean) {
  const options = {
    ...(req.temperature !== undefined ? { temperature: req.temperature } : {}),
    ...(req.top_p !== undefined ? { top_p: req.top_p } : {}),
    ...(req.max_tokens !== undefined ? { num_predict: req.max_tokens } : {}),
    ...(req.stop?.length ? { stop: req.stop } : {}),
    ...(req.seed !== undefined ? { seed: req.seed } : {}),
  };
  return { model: req.model, messages: req.messages, stream, options };
}

export function ollamaClient(cfg: ClientConfig): UpstreamClient {
  const headers: Record<string, string> = cfg.apiKey ? { authorization: `Bearer ${cfg.apiKey}` } : {};
  const secrets = cfg.apiKey ? [cfg.apiKey] : [];
  const chatUrl = under(cfg.baseUrl, 'api/chat');
  const host = chatUrl.host;
  const call = (path: string, opts: CallOptions, json?: unknown) => ({
    method: json === undefined ? ('GET' as const) : ('POST' as const),
    url: under(cfg.baseUrl, path),
    headers,
    json,
    signal: opts.signal,
    timeoutMs: opts.timeoutMs ?? cfg.timeoutMs,
    secrets,
  });
  const lineError = (l: z.infer<typeof chatLine>) =>
    l.error
      ? new UpstreamError('upstream_error', `${host} reported an error: ${l.error.slice(0, 300)}`)
      : null;

  return {
    kind: 'ollama',
    async ping(opts = {}) {
      const raw = await cfg.transport.json(call('api/version', opts), { maxBytes: cfg.maxResponseBytes });
      parseOrThrow(z.object({ version: z.string() }), raw, host, 'its version');
    },
    async listModels(opts = {}) {
      const raw = await cfg.transport.json(call('api/tags', opts), { maxBytes: cfg.maxResponseBytes });
      return parseOrThrow(tags, raw, host, 'the model list').models.map((m) => ({
        id: m.name,
        ...(typeof m.size === 'number' ? { size: m.size } : {}),
      }));
    },
    async chat(req, opts = {}) {
      const raw = await cfg.transport.json(call('api/chat', opts, chatBody(req, false)), {
        maxBytes: cfg.maxResponseBytes,
      });
      const l = parseOrThrow(chatLine, raw, host, 'a chat answer');
      const err = lineError(l);
      if (err) throw err;
      return {
        text: l.message?.content ?? '',
        finish_reason: l.done_reason ?? 'stop',
        usage: usageOf(l),
        model: l.model ?? req.model,
      };
    },
    async *chatStream(req, opts = {}): AsyncGenerator<UpstreamChatEvent> {
      const res = await cfg.transport.open(call('api/chat', opts, chatBody(req, true)));
      for await (const line of readLines(res.body, {
        idleMs: cfg.idleTimeoutMs,
        signal: opts.signal,
        host,
      })) {
        if (!line.trim()) continue;
        let parsed: unknown;
        try {
          parsed = JSON.parse(line);
        } catch {
          throw new UpstreamError('upstream_bad_response', `${host} sent a stream line that is not JSON`);
        }
        const l = parseOrThrow(chatLine, parsed, host, 'a stream line');
        const err = lineError(l);
        if (err) throw err;
        if (l.message?.content) yield { type: 'text', text: l.message.content };
        if (l.done) {
          yield { type: 'done', finish_reason: l.done_reason ?? 'stop', usage: usageOf(l) };
          return;
        }
      }
      throw new UpstreamError(
        'upstream_disconnected',
        `${host}: the stream ended before the answer finished`,
      );
    },
  };
}
