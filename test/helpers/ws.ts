import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';

/** Every wait in these helpers gives up after this long, so a missing message fails the test. */
export const WS_WAIT_MS = 5_000;

export type WsMessage = Record<string, unknown> & { type: string };

export interface WsClient {
  ws: WebSocket;
  /** Every message received so far, parsed. */
  messages: WsMessage[];
  /** Resolves with the first message (already received or upcoming) matching `pred`. */
  next(pred: (m: WsMessage) => boolean, what?: string): Promise<WsMessage>;
  /** Resolves when the server closes the socket. */
  closed(): Promise<{ code: number; reason: string }>;
  /** Event messages only (those with an id), in arrival order. */
  events(): WsMessage[];
  send(msg: unknown): void;
  close(): Promise<void>;
}

const bounded = <T>(p: Promise<T>, what: string): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), WS_WAIT_MS);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });

/** Opens a socket and waits for it to be accepted (the server's first 'subscribed' or 'resync_required'). */
export async function openWs(url: string, headers: Record<string, string> = {}): Promise<WsClient> {
  const ws = new WebSocket(url, { headers });
  // Errors after the upgrade show up as a close; the handler keeps them from being thrown.
  ws.on('error', () => {});
  const messages: WsMessage[] = [];
  const waiters: { pred: (m: WsMessage) => boolean; resolve: (m: WsMessage) => void }[] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  ws.on('message', (raw) => {
    const m = JSON.parse(raw.toString()) as WsMessage;
    messages.push(m);
    for (const w of [...waiters]) {
      if (w.pred(m)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  });
  await bounded(
    new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res: IncomingMessage) =>
        reject(new Error(`upgrade refused: ${res.statusCode}`)),
      );
    }),
    'the upgrade',
  );
  const client: WsClient = {
    ws,
    messages,
    next(pred, what = 'a message') {
      const seen = messages.find(pred);
      if (seen) return Promise.resolve(seen);
      return bounded(new Promise<WsMessage>((resolve) => waiters.push({ pred, resolve })), what);
    },
    closed: () => bounded(closed, 'the socket to close'),
    events: () => messages.filter((m) => 'id' in m),
    send: (msg) => ws.send(JSON.stringify(msg)),
    async close() {
      if (ws.readyState === WebSocket.CLOSED) return;
      ws.close();
      await bounded(closed, 'the socket to close');
    },
  };
  await client.next((m) => m.type === 'subscribed' || m.type === 'resync_required', 'the subscription');
  return client;
}

/** Attempts an upgrade that the server should refuse; returns its HTTP answer. */
export function refusedWs(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; contentType: string; body: Record<string, unknown> }> {
  const ws = new WebSocket(url, { headers });
  return bounded(
    new Promise((resolve, reject) => {
      ws.once('open', () => {
        ws.terminate();
        reject(new Error('the upgrade was accepted'));
      });
      ws.once('unexpected-response', (_req, res: IncomingMessage) => {
        let body = '';
        res.on('data', (c: Buffer) => {
          body += c.toString();
        });
        res.on('end', () => {
          ws.terminate();
          resolve({
            status: res.statusCode ?? 0,
            contentType: String(res.headers['content-type'] ?? ''),
            body: body ? (JSON.parse(body) as Record<string, unknown>) : {},
          });
        });
      });
      ws.once('error', (err) => {
        if (!/Unexpected server response/.test(err.message)) reject(err);
      });
    }),
    'the refusal',
  );
}
