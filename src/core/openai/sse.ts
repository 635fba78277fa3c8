import { PassThrough } from 'node:stream';
import type { FastifyBaseLogger, FastifyReply } from 'fastify';
import { streamError } from './errors.js';

/**
 * Sends `events` as OpenAI streams them: `data: <json>` per event, then `data: [DONE]`. A failure
 * after the first byte can no longer change the status, so it goes out as a `data: {"error": ...}`
 * event (which OpenAI's clients raise as an APIError) and the stream ends without [DONE].
 *
 * The loop here drives `events` itself rather than handing Fastify an iterator-backed stream: the
 * generation behind `events` holds a model slot that only its own `finally` releases, so it must be
 * started even if the client is already gone, and closed (break → return()) as soon as it goes.
 */
export function sendEvents(reply: FastifyReply, events: AsyncIterable<unknown>, log: FastifyBaseLogger) {
  const out = new PassThrough();
  const writable = () =>
    new Promise<void>((resolve) => {
      if (!out.writableNeedDrain || out.destroyed) return resolve();
      const go = () => {
        out.off('drain', go);
        out.off('close', go);
        resolve();
      };
      out.on('drain', go);
      out.on('close', go);
    });
  const pump = async () => {
    try {
      for await (const event of events) {
        if (out.destroyed) break;
        out.write(`data: ${JSON.stringify(event)}\n\n`);
        await writable();
      }
      if (!out.destroyed) out.end('data: [DONE]\n\n');
    } catch (err) {
      const { body, expected } = streamError(err);
      // A client that left is the usual end of a cancelled generation, not a fault.
      if (out.destroyed) log.info({ code: body.error.code }, 'client left; generation stopped');
      else if (expected) log.warn({ code: body.error.code }, `stream ended early: ${body.error.message}`);
      else log.error({ err }, 'stream failed');
      if (!out.destroyed) out.end(`data: ${JSON.stringify(body)}\n\n`);
    }
  };
  // Fastify does not end `out` when the client goes: without this a full buffer would wait for a
  // 'drain' that never comes, and the generation would hold its model slot for good.
  reply.raw.once('close', () => {
    if (!out.writableEnded) out.destroy();
  });
  void pump();
  return reply
    .header('content-type', 'text/event-stream; charset=utf-8')
    .header('cache-control', 'no-cache')
    .header('x-accel-buffering', 'no')
    .send(out);
}
