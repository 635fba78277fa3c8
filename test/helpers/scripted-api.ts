import type { CliContext } from '../../src/cli/context.js';

/** One request as the CLI sent it; stream bodies are read whole so tests can check every byte. */
export interface ScriptedCall {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Headers;
  /** Parsed JSON for JSON bodies, else undefined (see `raw`). */
  body: unknown;
  raw: Buffer | undefined;
}

export interface ScriptedAnswer {
  status?: number;
  body?: unknown;
  /** Sent as-is (file contents) instead of JSON. */
  bytes?: Buffer | string;
  /** Sent piece by piece as the test produces it (server-sent events; see `sse`). */
  stream?: ReadableStream<Uint8Array>;
  headers?: Record<string, string>;
}

export type ScriptedHandler = (call: ScriptedCall) => ScriptedAnswer | Promise<ScriptedAnswer>;

export interface ScriptedCli {
  ctx: CliContext;
  calls: ScriptedCall[];
  out: string[];
  err: string[];
  /** What was written raw to standard error (progress bars). */
  stderr: string[];
}

/**
 * A CLI context whose fetch answers from a script: commands are checked against the API contract
 * (method, path, query, body) without a node.
 */
export function scriptedCli(
  handler: ScriptedHandler,
  opts: { answers?: string[]; tty?: boolean; configDir?: string; hfToken?: string } = {},
): ScriptedCli {
  const calls: ScriptedCall[] = [];
  const out: string[] = [];
  const err: string[] = [];
  const stderr: string[] = [];
  const answers = [...(opts.answers ?? [])];
  const fetchFn = (async (input: URL | string, init?: RequestInit) => {
    const url = new URL(String(input));
    const headers = new Headers(init?.headers);
    let raw: Buffer | undefined;
    if (init?.body instanceof ReadableStream) raw = Buffer.from(await new Response(init.body).arrayBuffer());
    else if (typeof init?.body === 'string') raw = Buffer.from(init.body);
    const isJson = headers.get('content-type') === 'application/json';
    const call: ScriptedCall = {
      method: init?.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers,
      body: raw && isJson ? JSON.parse(raw.toString('utf8')) : undefined,
      raw,
    };
    calls.push(call);
    const a = await handler(call);
    const status = a.status ?? 200;
    if (a.stream !== undefined) {
      // As with a real fetch, aborting the request's signal breaks off the body being read.
      const signal = init?.signal ?? undefined;
      const body = signal ? a.stream.pipeThrough(new TransformStream(), { signal }) : a.stream;
      return new Response(body, { status, headers: { 'content-type': 'text/event-stream', ...a.headers } });
    }
    if (a.bytes !== undefined) {
      return new Response(status === 204 ? null : a.bytes, {
        status,
        headers: { 'content-type': 'application/octet-stream', ...a.headers },
      });
    }
    return new Response(status === 204 ? null : JSON.stringify(a.body ?? {}), {
      status,
      headers: {
        'content-type': status >= 400 ? 'application/problem+json' : 'application/json',
        ...a.headers,
      },
    });
  }) as typeof fetch;
  const ctx: CliContext = {
    config: {
      url: 'http://node.test:8000',
      token: undefined,
      configDir: opts.configDir ?? '/nonexistent/polar',
      hfToken: opts.hfToken,
    },
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    prompter: {
      interactive: false,
      ask: async () => {
        const a = answers.shift();
        if (a === undefined) throw new Error('no more input');
        return a;
      },
    },
    fetch: fetchFn,
    stderr: { isTTY: opts.tty === true, columns: 80, write: (s) => stderr.push(s) },
    sleep: async () => {},
  };
  return { ctx, calls, out, err, stderr };
}

/**
 * A server-sent event stream: each item is one `data:` event (objects as JSON, strings as they are),
 * sent one per pull; `before(i)` runs before item i is sent (a test waits or aborts there).
 */
export function sse(
  events: readonly unknown[],
  opts: { before?: (i: number) => void | Promise<void> } = {},
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let i = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (i >= events.length) return controller.close();
      await opts.before?.(i);
      const e = events[i++];
      controller.enqueue(encoder.encode(`data: ${typeof e === 'string' ? e : JSON.stringify(e)}\n\n`));
    },
  });
}

export const problem = (status: number, code: string, detail = 'nope'): ScriptedAnswer => ({
  status,
  body: { type: 'about:blank', title: 'x', status, detail, code, request_id: 'r1' },
});

export interface FormPart {
  name: string;
  filename?: string;
  value: string;
}

/** A multipart/form-data body split into its parts, in order (enough for the CLI's own bodies). */
export function parseMultipart(raw: Buffer, contentType: string): FormPart[] {
  const boundary = /boundary=(.+)$/.exec(contentType)?.[1];
  if (!boundary) throw new Error(`no boundary in ${contentType}`);
  const text = raw.toString('latin1');
  const sections = text.split(`--${boundary}`);
  if (sections.at(-1) !== '--\r\n') throw new Error('the body does not end with the closing boundary');
  return sections.slice(1, -1).map((s) => {
    const [head, ...rest] = s.slice(2).split('\r\n\r\n');
    const value = Buffer.from(rest.join('\r\n\r\n').slice(0, -2), 'latin1').toString('utf8');
    const name = /name="([^"]*)"/.exec(head!)?.[1] ?? '';
    const filename = /filename="((?:[^"\\]|\\.)*)"/.exec(head!)?.[1];
    return filename === undefined ? { name, value } : { name, filename, value };
  });
}
