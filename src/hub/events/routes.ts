import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { SESSION_COOKIE } from '../auth/plugin.js';
import type { EventStream } from './service.js';
import type { Topic } from './topics.js';

const eventId = z
  .string()
  .regex(/^\d{1,15}$/, 'must be a non-negative integer event id')
  .transform(Number);

const streamQuery = z.strictObject({
  topics: z.string().max(1024).optional().describe('Comma-separated topics, e.g. audit,users'),
  last_event_id: eventId.optional().describe('Resume after this event id (also read from Last-Event-ID)'),
});
const streamHeaders = z.object({ 'last-event-id': eventId.optional() });

/** The credential the auth hook accepted, kept so the stream can re-check it while the socket is open. */
function presentedToken(request: FastifyRequest): string {
  const bearer = /^Bearer (\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
  return request.credential === 'bearer' && bearer ? bearer : (request.cookies[SESSION_COOKIE] ?? '');
}

const admitted = new WeakMap<FastifyRequest, Topic[]>();

export const eventRoutes: FastifyPluginAsyncZod<{ events: EventStream }> = async (app, { events }) => {
  app.get(
    '/ws',
    {
      websocket: true,
      config: { auth: 'events:read' },
      schema: {
        tags: ['events'],
        summary: 'Event stream (WebSocket): topics filtered by permission, resumable from the last id',
        querystring: streamQuery,
        headers: streamHeaders,
      },
      // Refusals happen before the upgrade so the client gets a problem+json answer with a code.
      preHandler: async (request) => {
        admitted.set(request, events.admit(request.principal!, request.query.topics));
      },
    },
    (socket, request) =>
      events.connect(socket, {
        principal: request.principal!,
        token: presentedToken(request),
        topics: admitted.get(request) ?? [],
        lastEventId: request.query.last_event_id ?? request.headers['last-event-id'],
      }),
  );
};
