import type { ApiClient } from '../client.js';
import { ApiError, UnreachableError } from '../errors.js';

/** A streamed reply may wait in the node's queue or behind a model load before its first token. */
const IDLE_TIMEOUT_MS = 5 * 60_000;
/** The whole-transfer bound of the request; the idle timer is what catches a stuck stream. */
const STREAM_TIMEOUT_MS = 24 * 3_600_000;

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens?: number;
}

/** A finished (or stopped) reply with what it cost in time. */
export interface Reply {
  id: string | null;
  model: string | null;
  created: number | null;
  text: string;
  /** null when the reply was stopped before the node said why it ended. */
  finishReason: string | null;
  usage: Usage | null;
  /** The request was aborted (Ctrl-C): `text` is what arrived before. */
  interrupted: boolean;
  timings: Timings;
}

export interface Timings {
  /** From sending the request to the first piece of text. */
  ttftMs: number | null;
  totalMs: number;
  /** Tokens generated after the first one, per second of decoding (time to first token excluded). */
  tokensPerSecond: number | null;
  tokens: number;
}

/**
 * Server-sent events as OpenAI streams them: `data: <json>` lines, events separated by a blank
 * line, `data: [DONE]` at the end. Feed it text as it arrives; it returns every complete event's data.
 */
export class SseParser {
  private buffer = '';
  private data: string[] = [];

  push(text: string): string[] {
    this.buffer += text;
    const events: string[] = [];
    let nl = this.buffer.indexOf('\n');
    while (nl >= 0) {
      const line = this.buffer.slice(0, nl).replace(/\r$/, '');
      this.buffer = this.buffer.slice(nl + 1);
      if (line === '') {
        if (this.data.length) events.push(this.data.join('\n'));
        this.data = [];
      } else if (line.startsWith('data:')) {
        this.data.push(line.slice(line[5] === ' ' ? 6 : 5));
      }
      // Comments (`: keep-alive`), `event:`, `id:` and `retry:` lines carry nothing a reply needs.
      nl = this.buffer.indexOf('\n');
    }
    return events;
  }

  /** The last event when the stream ends without its blank line. */
  end(): string[] {
    const rest = this.push('\n\n');
    this.buffer = '';
    return rest;
  }
}

interface Chunk {
  id?: string;
  model?: string;
  created?: number;
  choices?: { delta?: { content?: string | null }; finish_reason?: string | null }[];
  usage?: Usage | null;
  error?: { message?: string; code?: string | null; type?: string };
}

/** OpenAI-style errors (`{ error: { message, type, code } }`) as the CLI's ApiError. */
export function fromOpenAiError(err: unknown): unknown {
  if (!(err instanceof ApiError)) return err;
  const e = (err.body as Chunk | undefined)?.error;
  if (!e || typeof e !== 'object' || typeof e.message !== 'string') return err;
  return new ApiError(err.status, e.code ?? e.type ?? err.code, e.message, err.body, err.requestId);
}

export interface StreamOptions {
  /** Gets each piece of text as it arrives. */
  onText(text: string): void;
  /** Aborting it stops the reply; the stream then ends with `interrupted`. */
  signal: AbortSignal;
  now?: () => number;
}

/**
 * POST /v1/chat/completions with `stream: true` and the usage chunk, reading the reply as it comes.
 * Errors before the first byte are thrown as the node sent them; a stop by the signal is not an error.
 */
export async function streamChat(
  client: ApiClient,
  body: Record<string, unknown>,
  opts: StreamOptions,
): Promise<Reply> {
  const now = opts.now ?? (() => performance.now());
  const idle = new AbortController();
  let idleTimer: NodeJS.Timeout | undefined;
  const touch = () => {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => idle.abort(), IDLE_TIMEOUT_MS);
  };
  const reply: Reply = {
    id: null,
    model: null,
    created: null,
    text: '',
    finishReason: null,
    usage: null,
    interrupted: false,
    timings: { ttftMs: null, totalMs: 0, tokensPerSecond: null, tokens: 0 },
  };
  const started = now();
  let firstAt: number | null = null;
  let lastAt: number | null = null;
  let pieces = 0;
  const stopped = () => {
    if (opts.signal.aborted) return true;
    if (idle.signal.aborted)
      throw new UnreachableError(`The node sent nothing for ${IDLE_TIMEOUT_MS / 1000} s; gave up`);
    return false;
  };

  touch();
  try {
    let res: Response;
    try {
      res = await client.raw('POST', '/v1/chat/completions', {
        body: JSON.stringify({ ...body, stream: true, stream_options: { include_usage: true } }),
        headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
        timeoutMs: STREAM_TIMEOUT_MS,
        signal: AbortSignal.any([opts.signal, idle.signal]),
      });
    } catch (err) {
      if (stopped())
        return { ...reply, interrupted: true, timings: { ...reply.timings, totalMs: now() - started } };
      throw fromOpenAiError(err);
    }
    const parser = new SseParser();
    const decoder = new TextDecoder();
    const handle = (data: string): boolean => {
      if (data === '[DONE]') return true;
      let chunk: Chunk;
      try {
        chunk = JSON.parse(data) as Chunk;
      } catch {
        throw new ApiError(
          502,
          'bad_stream',
          `The node sent a malformed event: ${data.slice(0, 80)}`,
          data,
          undefined,
        );
      }
      if (chunk.error) {
        const e = chunk.error;
        throw new ApiError(
          500,
          e.code ?? e.type ?? 'stream_error',
          e.message ?? 'the reply failed',
          chunk,
          undefined,
        );
      }
      reply.id ??= chunk.id ?? null;
      reply.model ??= chunk.model ?? null;
      reply.created ??= chunk.created ?? null;
      if (chunk.usage) reply.usage = chunk.usage;
      for (const choice of chunk.choices ?? []) {
        const text = choice.delta?.content;
        if (text) {
          const t = now();
          firstAt ??= t;
          lastAt = t;
          pieces++;
          reply.text += text;
          opts.onText(text);
        }
        if (choice.finish_reason) reply.finishReason = choice.finish_reason;
      }
      return false;
    };
    try {
      let done = false;
      for await (const bytes of res.body as unknown as AsyncIterable<Uint8Array>) {
        touch();
        for (const data of parser.push(decoder.decode(bytes, { stream: true }))) done ||= handle(data);
        if (done) break;
      }
      if (!done) for (const data of parser.end()) handle(data);
    } catch (err) {
      if (!stopped()) throw err;
      reply.interrupted = true;
    }
    if (opts.signal.aborted) reply.interrupted = true;
  } finally {
    clearTimeout(idleTimer);
  }
  const tokens = reply.usage?.completion_tokens ?? pieces;
  const decodeMs = firstAt !== null && lastAt !== null ? lastAt - firstAt : 0;
  reply.timings = {
    ttftMs: firstAt === null ? null : firstAt - started,
    totalMs: now() - started,
    tokensPerSecond: tokens > 1 && decodeMs > 0 ? ((tokens - 1) * 1000) / decodeMs : null,
    tokens,
  };
  return reply;
}

/** `42 tokens · 85.3 tokens/s · first token 120 ms`, for the line after a reply. */
export function statsLine(t: Timings, interrupted = false): string {
  const parts = [`${t.tokens} token${t.tokens === 1 ? '' : 's'}`];
  if (t.tokensPerSecond !== null) parts.push(`${t.tokensPerSecond.toFixed(1)} tokens/s`);
  if (t.ttftMs !== null) parts.push(`first token ${Math.round(t.ttftMs)} ms`);
  parts.push(`total ${(t.totalMs / 1000).toFixed(2)} s`);
  if (interrupted) parts.push('stopped');
  return parts.join(' · ');
}
