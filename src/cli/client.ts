import { ApiError, UnreachableError, UsageError } from './errors.js';

export const DEFAULT_URL = 'http://127.0.0.1:8000';
/** Admin operations (cleanup) can take a while; anything longer means the node is stuck. */
const DEFAULT_TIMEOUT_MS = 60_000;

/** Every list answer of the API: `?limit=&cursor=` → `{ items, next_cursor }`. */
export type { Page } from '../platform/http/pagination.js';

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface RawRequestOptions {
  query?: Query;
  /** Streamed as-is (a multipart body, say); the caller sets its content-type. */
  body?: RequestInit['body'];
  headers?: Record<string, string>;
  /** Whole-transfer bound; uploads and downloads of large weights take far longer than an API call. */
  timeoutMs?: number;
  /** Ends the request early (Ctrl-C during a streamed reply); the time bound still applies. */
  signal?: AbortSignal;
}

export interface ClientOptions {
  baseUrl: string;
  token?: string | undefined;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

/** A thin client of the Polar HTTP API: JSON in, JSON out, problem+json turned into ApiError. */
export class ApiClient {
  readonly baseUrl: string;
  readonly token: string | undefined;
  private readonly fetchFn: typeof fetch;
  private readonly timeoutMs: number;

  constructor(opts: ClientOptions) {
    this.baseUrl = normalizeBaseUrl(opts.baseUrl);
    this.token = opts.token;
    this.fetchFn = opts.fetch ?? fetch;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  get<T>(path: string, query?: Query) {
    return this.request<T>('GET', path, { query });
  }
  post<T>(path: string, body?: unknown) {
    return this.request<T>('POST', path, { body });
  }
  put<T>(path: string, body: unknown, opts: Omit<RequestOptions, 'body'> = {}) {
    return this.request<T>('PUT', path, { ...opts, body });
  }
  patch<T>(path: string, body: unknown) {
    return this.request<T>('PATCH', path, { body });
  }
  delete<T>(path: string) {
    return this.request<T>('DELETE', path);
  }

  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.raw(method, path, {
      query: opts.query,
      headers: {
        ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...opts.headers,
      },
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    });
    const text = await res.text();
    return parseBody(text, res.headers.get('content-type')) as T;
  }

  /**
   * A request whose body and answer are streams (file uploads and downloads). A non-2xx answer is
   * still read and thrown as ApiError; a 2xx answer is returned unread.
   */
  async raw(method: string, path: string, opts: RawRequestOptions = {}): Promise<Response> {
    const url = new URL(this.baseUrl + path);
    for (const [k, v] of Object.entries(opts.query ?? {})) {
      if (v !== undefined) url.searchParams.set(k, String(v));
    }
    const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    const streamed = opts.body instanceof ReadableStream;
    let res: Response;
    try {
      res = await this.fetchFn(url, {
        method,
        headers,
        body: opts.body,
        signal: opts.signal
          ? AbortSignal.any([opts.signal, AbortSignal.timeout(timeoutMs)])
          : AbortSignal.timeout(timeoutMs),
        // Node's fetch sends a stream body only in half-duplex mode (the answer comes after it).
        ...(streamed ? { duplex: 'half' } : {}),
      } as RequestInit);
    } catch (err) {
      throw new UnreachableError(`Cannot reach Polar at ${this.baseUrl}: ${networkReason(err, timeoutMs)}`);
    }
    if (!res.ok) {
      const text = await res.text();
      throw toApiError(res, parseBody(text, res.headers.get('content-type')), text);
    }
    return res;
  }
}

/** Accepts `host:port` and trailing slashes; refuses anything that is not http(s). */
export function normalizeBaseUrl(raw: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new UsageError(`Not a valid URL: ${raw}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`The URL must be http:// or https://, not ${url.protocol}`);
  }
  return `${url.origin}${url.pathname}`.replace(/\/+$/, '');
}

function parseBody(text: string, contentType: string | null): unknown {
  if (text === '') return undefined;
  if (contentType && /json/i.test(contentType)) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

function toApiError(res: Response, body: unknown, text: string): ApiError {
  const requestId = res.headers.get('x-request-id') ?? undefined;
  const p = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const code = typeof p.code === 'string' ? p.code : `http_${res.status}`;
  const detail =
    typeof p.detail === 'string'
      ? p.detail
      : typeof p.title === 'string'
        ? p.title
        : text.trim().slice(0, 200) || res.statusText || `HTTP ${res.status}`;
  return new ApiError(res.status, code, detail, body, requestId);
}

function networkReason(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
    return `no answer within ${Math.round(timeoutMs / 1000)} s`;
  }
  const cause =
    err instanceof Error ? (err.cause as { code?: string; message?: string } | undefined) : undefined;
  return cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
}
