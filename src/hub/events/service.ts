import type { Logger } from 'pino';
import { AppError, TooManyRequestsError } from '../../platform/errors.js';
import { type EventBus, INTERNAL_TOPIC, type PolarEvent } from '../../platform/events/bus.js';
import type { Principal } from '../auth/principal.js';
import {
  CLOSE_CODES,
  Connection,
  type ConnectionLimits,
  type EventSocket,
  eventMessage,
} from './connection.js';
import { authorizeTopics, parseTopicList, type Topic } from './topics.js';

export interface EventStreamOptions extends ConnectionLimits {
  /** How often peers are pinged (a peer silent for a whole interval is dropped) and credentials re-checked. */
  pingIntervalMs: number;
  /** Open sockets per user on one node. */
  maxPerUser: number;
}

export const DEFAULT_STREAM_OPTIONS: EventStreamOptions = Object.freeze({
  pingIntervalMs: 30_000,
  maxPerUser: 50,
  // Generous for bursts of small events, yet a stuck client costs this node at most a few MiB.
  maxBufferedBytes: 4 * 1024 * 1024,
  replayLimit: 1000,
  maxPending: 10_000,
});

/** Reasons after which none of the user's credentials may keep a socket open. */
const USER_WIDE_REASONS = new Set(['disabled', 'deleted', 'demoted']);

const strings = (v: unknown): Set<string> =>
  new Set(Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/**
 * The /ws subscriptions of this node: delivers bus events to the sockets allowed to see them, closes
 * sockets whose credentials are revoked (signalled by any node), and pings and re-authenticates
 * every socket periodically so a dead peer or a missed revocation signal does not linger.
 */
export function createEventStream(deps: {
  bus: EventBus;
  authenticate: (token: string) => Promise<Principal>;
  log: Logger;
  options?: Partial<EventStreamOptions>;
}) {
  const opts: EventStreamOptions = { ...DEFAULT_STREAM_OPTIONS, ...deps.options };
  const connections = new Set<Connection>();
  let unsubscribe: (() => void) | null = null;
  let timer: NodeJS.Timeout | null = null;
  let revalidating = false;

  const revoke = (data: Record<string, unknown>) => {
    const userId = typeof data.user_id === 'string' ? data.user_id : null;
    const sessions = strings(data.session_ids);
    const keys = strings(data.key_ids);
    const reason = typeof data.reason === 'string' ? data.reason.slice(0, 40) : 'revoked';
    const wholeUser = USER_WIDE_REASONS.has(reason);
    for (const c of connections) {
      const p = c.principal;
      if (
        (p.sessionId !== undefined && sessions.has(p.sessionId)) ||
        (p.keyId !== undefined && keys.has(p.keyId)) ||
        (wholeUser && p.userId === userId)
      ) {
        c.close(CLOSE_CODES.revoked, `credentials revoked: ${reason}`);
        connections.delete(c);
      }
    }
  };

  const onEvent = (e: PolarEvent) => {
    if (e.topic === INTERNAL_TOPIC) {
      if (e.type === 'principal.revoked') revoke(e.data);
      return;
    }
    let text: string | undefined;
    const serialised = () => {
      text ??= eventMessage(e);
      return text;
    };
    for (const c of connections) c.deliver(e, serialised);
  };

  const revalidate = async () => {
    if (revalidating) return;
    revalidating = true;
    try {
      // One at a time: a check per socket per interval must not turn into a burst on the database.
      for (const c of [...connections]) {
        if (c.closed) continue;
        try {
          c.refresh(await deps.authenticate(c.token));
        } catch (err) {
          if (err instanceof AppError && err.status === 401) {
            c.close(CLOSE_CODES.revoked, `credentials no longer valid: ${err.code}`);
            connections.delete(c);
          } else {
            deps.log.warn({ err }, 'event stream: credential check failed; keeping the socket');
          }
        }
      }
    } finally {
      revalidating = false;
    }
  };

  const tick = async () => {
    for (const c of connections) if (!c.heartbeat()) connections.delete(c);
    await revalidate();
  };

  return {
    start() {
      if (unsubscribe) return;
      unsubscribe = deps.bus.subscribe(onEvent);
      timer = setInterval(() => {
        tick().catch((err: unknown) => deps.log.warn({ err }, 'event stream tick failed'));
      }, opts.pingIntervalMs);
      timer.unref();
    },

    stop() {
      if (timer) clearInterval(timer);
      timer = null;
      unsubscribe?.();
      unsubscribe = null;
      for (const c of connections) c.close(CLOSE_CODES.shutdown, 'server shutting down');
      connections.clear();
    },

    /**
     * Checks a connection request before the upgrade, so a refusal is an ordinary HTTP answer
     * (400 unknown topic, 403 topic not permitted, 429 too many sockets) rather than a closed socket.
     */
    admit(principal: Principal, rawTopics: string | undefined): Topic[] {
      const topics = authorizeTopics(principal, parseTopicList(rawTopics));
      let open = 0;
      for (const c of connections) if (c.principal.userId === principal.userId) open++;
      if (open >= opts.maxPerUser) {
        throw new TooManyRequestsError(
          `At most ${opts.maxPerUser} open event streams per user`,
          5,
          'too_many_streams',
        );
      }
      return topics;
    },

    /** Serves one upgraded socket until it closes. */
    async connect(
      socket: EventSocket,
      c: { principal: Principal; token: string; topics: readonly Topic[]; lastEventId?: number | undefined },
    ): Promise<void> {
      const conn = new Connection(socket, c, opts);
      connections.add(conn);
      socket.on('close', () => {
        conn.closed = true;
        connections.delete(conn);
      });
      try {
        await conn.start(deps.bus, c.lastEventId);
      } catch (err) {
        deps.log.error({ err }, 'event stream: replay failed');
        conn.close(CLOSE_CODES.internal, 'internal error');
        connections.delete(conn);
      }
    },

    /** Runs one heartbeat and credential check now (the interval calls it; tests too). */
    tick,

    /** Open sockets on this node. */
    size: () => connections.size,
  };
}
export type EventStream = ReturnType<typeof createEventStream>;
