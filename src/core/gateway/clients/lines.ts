import type { IncomingMessage } from 'node:http';
import { networkError } from '../transport.js';
import { UpstreamError } from './errors.js';

/** A line longer than this is not a chunk of any API we speak; refusing it bounds memory. */
const MAX_LINE = 1024 * 1024;

/**
 * The lines of a streamed body (SSE and NDJSON are both line based), ended early by the caller's
 * signal or by `idleMs` without a byte. Failures are UpstreamErrors: a dropped connection is
 * upstream_disconnected, silence upstream_timeout. Leaving the loop early closes the connection.
 */
export async function* readLines(
  body: IncomingMessage,
  opts: { idleMs: number; signal?: AbortSignal | undefined; host: string },
): AsyncGenerator<string> {
  let why: 'timeout' | 'cancelled' | null = null;
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      why = 'timeout';
      body.destroy();
    }, opts.idleMs);
  };
  const onAbort = () => {
    why ??= 'cancelled';
    body.destroy();
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  if (opts.signal?.aborted) onAbort();
  let rest = '';
  try {
    arm();
    body.setEncoding('utf8');
    for await (const chunk of body as AsyncIterable<string>) {
      arm();
      rest += chunk;
      let nl = rest.indexOf('\n');
      while (nl >= 0) {
        const line = rest.slice(0, nl).replace(/\r$/, '');
        rest = rest.slice(nl + 1);
        yield line;
        nl = rest.indexOf('\n');
      }
      if (rest.length > MAX_LINE)
        throw new UpstreamError(
          'upstream_bad_response',
          `${opts.host} sent a line longer than ${MAX_LINE} bytes`,
        );
    }
    if (why) throw networkError(null, opts.host, why, opts.idleMs);
    if (rest) yield rest.replace(/\r$/, '');
  } catch (err) {
    throw networkError(err, opts.host, why, opts.idleMs);
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
    if (!body.destroyed) body.destroy();
  }
}
