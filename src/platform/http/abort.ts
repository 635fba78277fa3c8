import type { FastifyReply } from 'fastify';

/**
 * Aborted when the client goes away before the answer is complete, so work done on its behalf
 * (a generation, a queued request) stops instead of running for nobody.
 */
export function clientGone(reply: FastifyReply): AbortSignal {
  const ac = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) ac.abort(new Error('the client disconnected'));
  });
  return ac.signal;
}
