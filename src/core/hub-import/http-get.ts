import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

/**
 * The probe (`fileDownloadInfo`) already followed the hub's redirect when it could keep the URL;
 * otherwise the resolve URL redirects once more to storage. A small bound still stops a loop.
 */
const MAX_REDIRECTS = 3;

export interface ByteResponse {
  status: number;
  /** A response header, lower-case name; undefined when absent. */
  header(name: string): string | undefined;
  body: IncomingMessage;
}

/**
 * GET for a file's bytes on node:http(s) rather than fetch: the body arrives as node Buffers with
 * no web-stream layer in between, which costs the import a measurable share of its CPU per byte.
 * Redirects are followed like fetch does, dropping Authorization when the origin changes (storage
 * URLs are signed and must not see the hub token). A connection failure is a TypeError "fetch
 * failed" with the node error as cause, so error mapping treats it exactly as a fetch failure.
 */
export async function getBytes(
  url: string,
  headers: Record<string, string>,
  signal: AbortSignal,
): Promise<ByteResponse> {
  let current = new URL(url);
  let sent = { ...headers };
  for (let hop = 0; ; hop++) {
    const res = await send(current, sent, signal);
    const status = res.statusCode ?? 0;
    const location = res.headers.location;
    if (status >= 300 && status < 400 && location && hop < MAX_REDIRECTS) {
      res.resume();
      const next = new URL(location, current);
      if (next.origin !== current.origin) {
        sent = Object.fromEntries(Object.entries(sent).filter(([k]) => k.toLowerCase() !== 'authorization'));
      }
      current = next;
      continue;
    }
    return {
      status,
      header: (name) => {
        const value = res.headers[name.toLowerCase()];
        return Array.isArray(value) ? value.join(', ') : value;
      },
      body: res,
    };
  }
}

function send(url: URL, headers: Record<string, string>, signal: AbortSignal): Promise<IncomingMessage> {
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    // identity: sizes and Content-Range are checked against the bytes as stored, never re-encoded.
    const req = request(url, { headers: { 'accept-encoding': 'identity', ...headers }, signal }, resolve);
    req.once('error', (err) => {
      reject(signal.aborted ? err : new TypeError('fetch failed', { cause: err }));
    });
    req.end();
  });
}

/**
 * The body's chunks; a failure while they stream (reset, premature close) becomes the TypeError
 * "terminated" fetch raises in that case, so retries and error mapping stay the same.
 */
export async function* chunksOf(body: IncomingMessage): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of body) yield chunk as Buffer;
  } catch (err) {
    throw new TypeError('terminated', { cause: err });
  }
}
