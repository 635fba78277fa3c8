import {
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { scrub, statusError, UpstreamError } from './clients/errors.js';
import { EgressDenied, type EgressPolicy } from './egress.js';

/**
 * HTTP to upstream providers, and nothing else may open connections for the gateway: every socket
 * resolves its host through the egress policy's lookup, redirects are errors, and every failure is an
 * UpstreamError whose message holds no credential. Plain node:http rather than fetch, because fetch
 * (undici) takes no lookup function without a separate dispatcher package.
 */
export interface UpstreamCall {
  method: 'GET' | 'POST';
  url: URL;
  headers?: Record<string, string> | undefined;
  /** Sent as the JSON body. */
  json?: unknown;
  /** The caller's cancellation (its client went away). */
  signal?: AbortSignal | undefined;
  /** Longest wait for the response headers, in ms. */
  timeoutMs: number;
  /** Values that must never appear in an error message (the API key). */
  secrets?: readonly string[] | undefined;
}

export interface UpstreamResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body stream; destroying it closes the connection. */
  body: IncomingMessage;
}

/** Largest error body read to find the upstream's message. */
const ERROR_BODY_BYTES = 16 * 1024;

const NETWORK_CODES: Record<string, string> = {
  ECONNREFUSED: 'the connection was refused',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name could not be resolved now',
  EHOSTUNREACH: 'the host is unreachable',
  ENETUNREACH: 'the network is unreachable',
  ECONNRESET: 'the connection was reset',
  EPIPE: 'the connection was closed',
  ETIMEDOUT: 'the connection timed out',
};

const retryAfterOf = (headers: IncomingHttpHeaders): number | undefined => {
  const v = headers['retry-after'];
  if (typeof v !== 'string') return undefined;
  const n = Number(v);
  if (Number.isFinite(n) && n >= 0) return Math.min(n, 3600);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.min(3600, (at - Date.now()) / 1000));
};

/** The upstream's own words from an error body: OpenAI's { error: { message } }, Ollama's { error }, or text. */
export function upstreamMessage(text: string): string | undefined {
  let m: unknown;
  try {
    const j = JSON.parse(text) as Record<string, unknown>;
    const e = j.error as Record<string, unknown> | string | undefined;
    m = typeof e === 'string' ? e : (e?.message ?? j.message ?? j.detail);
  } catch {
    m = /^[\s\S]{0,2000}$/.test(text) && !text.trimStart().startsWith('<') ? text : undefined;
  }
  if (typeof m !== 'string') return undefined;
  const one = m.replace(/\s+/g, ' ').trim();
  return one ? one.slice(0, 300) : undefined;
}

/** Reads a body to its end, refusing more than `max` bytes. */
export async function readBody(body: IncomingMessage, max: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) {
      body.destroy();
      throw new UpstreamError('upstream_bad_response', `The upstream's answer is larger than ${max} bytes`);
    }
    parts.push(chunk);
  }
  return Buffer.concat(parts);
}

/** Turns a socket-level failure into an UpstreamError; `why` says whether our own timer or caller ended it. */
export function networkError(err: unknown, host: string, why: 'timeout' | 'cancelled' | null, timeoutMs = 0) {
  if (err instanceof UpstreamError) return err;
  if (why === 'timeout')
    return new UpstreamError('upstream_timeout', `${host} did not answer within ${timeoutMs} ms`);
  if (why === 'cancelled') return new UpstreamError('upstream_cancelled', 'The request was cancelled');
  if (err instanceof EgressDenied) return new UpstreamError('egress_denied', err.message);
  const code = (err as NodeJS.ErrnoException)?.code ?? '';
  if (code === 'ECONNRESET' || (err as Error)?.message === 'aborted')
    return new UpstreamError(
      'upstream_disconnected',
      `${host}: the connection dropped before the answer ended`,
    );
  const what = NETWORK_CODES[code] ?? (code ? `connection failed (${code})` : 'connection failed');
  return new UpstreamError('upstream_unreachable', `${host}: ${what}`);
}

export interface Transport {
  /** Sends one request; resolves with a 2xx response, rejects with an UpstreamError otherwise. */
  open(call: UpstreamCall): Promise<UpstreamResponse>;
  /** open() then the whole body as JSON, all within `timeoutMs`; bad JSON is upstream_bad_response. */
  json(call: UpstreamCall, opts: { maxBytes: number }): Promise<unknown>;
  close(): void;
}

export function createTransport(deps: { egress: EgressPolicy; userAgent?: string }): Transport {
  // Agents of our own: pooled sockets were all connected through this policy's lookup.
  const agents = {
    'http:': new HttpAgent({ keepAlive: true, maxSockets: 256 }),
    'https:': new HttpsAgent({ keepAlive: true, maxSockets: 256 }),
  };

  const open = (call: UpstreamCall): Promise<UpstreamResponse> => {
    const host = call.url.host;
    const secrets = call.secrets ?? [];
    try {
      deps.egress.checkUrl(call.url.href);
    } catch (err) {
      return Promise.reject(networkError(err, host, null));
    }
    if (call.signal?.aborted) return Promise.reject(networkError(null, host, 'cancelled'));
    const body = call.json === undefined ? undefined : Buffer.from(JSON.stringify(call.json));
    const isHttps = call.url.protocol === 'https:';
    return new Promise((resolve, reject) => {
      let why: 'timeout' | 'cancelled' | null = null;
      let settled = false;
      const finish = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        fn();
      };
      const req = (isHttps ? httpsRequest : httpRequest)(
        call.url,
        {
          method: call.method,
          agent: agents[isHttps ? 'https:' : 'http:'],
          lookup: deps.egress.lookup,
          headers: {
            accept: 'application/json',
            'user-agent': deps.userAgent ?? 'Polar-Gateway',
            ...(body ? { 'content-type': 'application/json', 'content-length': String(body.length) } : {}),
            ...call.headers,
          },
        },
        (res) => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) {
            finish(() => resolve({ status, headers: res.headers, body: res }));
            // The caller's cancellation still ends the body stream after the headers arrived.
            res.once('close', () => call.signal?.removeEventListener('abort', onAbort));
            return;
          }
          if (status >= 300 && status < 400) {
            res.destroy();
            const location = typeof res.headers.location === 'string' ? res.headers.location : '';
            let where = '';
            try {
              where = location ? ` to ${new URL(location, call.url).origin}` : '';
            } catch {
              where = '';
            }
            finish(() =>
              reject(
                new UpstreamError(
                  'upstream_redirect',
                  `The upstream answered a redirect (${status})${where}; redirects are not followed, fix the base URL`,
                  { upstreamStatus: status },
                ),
              ),
            );
            return;
          }
          readBody(res, ERROR_BODY_BYTES)
            .then((buf) => upstreamMessage(buf.toString('utf8')))
            .catch(() => undefined)
            .then((m) =>
              finish(() => reject(statusError(status, m && scrub(m, secrets), retryAfterOf(res.headers)))),
            );
        },
      );
      const timer = setTimeout(() => {
        why = 'timeout';
        req.destroy();
      }, call.timeoutMs);
      const onAbort = () => {
        why ??= 'cancelled';
        req.destroy();
      };
      call.signal?.addEventListener('abort', onAbort, { once: true });
      req.on('error', (err) => {
        call.signal?.removeEventListener('abort', onAbort);
        finish(() => reject(networkError(err, host, why, call.timeoutMs)));
      });
      req.end(body);
    });
  };

  return {
    open,
    async json(call, opts) {
      const started = Date.now();
      const res = await open(call);
      const left = Math.max(1, call.timeoutMs - (Date.now() - started));
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        res.body.destroy();
      }, left);
      let buf: Buffer;
      try {
        buf = await readBody(res.body, opts.maxBytes);
      } catch (err) {
        throw networkError(
          err,
          call.url.host,
          timedOut ? 'timeout' : call.signal?.aborted ? 'cancelled' : null,
          call.timeoutMs,
        );
      } finally {
        clearTimeout(timer);
      }
      try {
        return JSON.parse(buf.toString('utf8')) as unknown;
      } catch {
        throw new UpstreamError(
          'upstream_bad_response',
          `${call.url.host} answered with JSON that does not parse`,
        );
      }
    },
    close() {
      agents['http:'].destroy();
      agents['https:'].destroy();
    },
  };
}
