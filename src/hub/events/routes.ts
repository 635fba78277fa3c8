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

const PROTOCOL = [
  'Upgrade to a WebSocket. Topics: audit, settings, users, models, datasets, training, jobs, gateway, health,',
  'each needing its read permission. Refusals come before the upgrade as problem+json',
  '(401, 403 permission_denied | topic_forbidden, 400 unknown_topic, 429 too_many_streams).',
  'Messages: events `{ id, topic, type, at, data }`; `{ type: "subscribed", topics }` once stored events',
  'after last_event_id have been replayed (live events follow); `{ type: "resync_required", reason }` when',
  'they are no longer all available; `{ type: "error", code, detail }` for a bad client message.',
  'Client messages: `{ "op": "subscribe" | "unsubscribe", "topics": [...] }`.',
  'Close codes: 1001 shutting down, 1009 message too large, 1011 internal error, 1013 client too slow',
  '(reconnect with last_event_id), 4001 credentials revoked or no longer valid. The server pings every 30 s.',
].join(' ');

export const eventRoutes: FastifyPluginAsyncZod<{ events: EventStream }> = async (app, { events }) => {
  // @fastify/websocket hides its routes from OpenAPI; this one is part of the API, so it is listed.
  app.addHook('onRoute', (route) => {
    if (route.websocket && route.schema) route.schema.hide = false;
  });
  app.get(
    '/ws',
    {
      websocket: true,
      config: { auth: 'events:read' },
      schema: {
        tags: ['events'],
        summary: 'Event stream (WebSocket): topics filtered by permission, resumable from the last id',
        description: PROTOCOL,
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
