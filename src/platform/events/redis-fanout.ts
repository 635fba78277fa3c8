import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { EventListener, Fanout, PolarEvent } from './bus.js';

export const DEFAULT_EVENT_CHANNEL = 'polar:events';

/** How long start-up waits for the subscription before going on without it (ioredis keeps retrying). */
const SUBSCRIBE_WAIT_MS = 5_000;

export interface RedisFanout extends Fanout {
  /** This node's id; messages carrying it are this node's own and are not delivered twice. */
  readonly nodeId: string;
  /** Resolves once the subscriber listens (or after a bounded wait when Redis is unreachable). */
  ready(): Promise<void>;
}

interface Envelope {
  node: string;
  event: PolarEvent;
}

function isEvent(e: unknown): e is PolarEvent {
  if (typeof e !== 'object' || e === null) return false;
  const v = e as Record<string, unknown>;
  return (
    typeof v.id === 'number' &&
    typeof v.topic === 'string' &&
    typeof v.type === 'string' &&
    typeof v.at === 'string' &&
    (v.user_id === null || typeof v.user_id === 'string') &&
    typeof v.data === 'object' &&
    v.data !== null
  );
}

/**
 * Carries events between nodes over Redis pub/sub. A connection in subscriber mode cannot run other
 * commands, so the subscriber is a duplicate of the shared client; the shared client only publishes
 * and stays owned by whoever created it.
 *
 * Pub/sub is at-most-once: a message sent while a node is disconnected is lost for that node. Stored
 * events are recovered by clients resuming from their last id; revocations are also re-checked
 * periodically by the event stream, so a lost signal delays a cut-off rather than cancelling it.
 */
export function createRedisFanout(opts: {
  redis: Redis;
  log: Logger;
  channel?: string;
  nodeId?: string;
}): RedisFanout {
  const channel = opts.channel ?? DEFAULT_EVENT_CHANNEL;
  const nodeId = opts.nodeId ?? randomUUID();
  const listeners: EventListener[] = [];
  const subscriber = opts.redis.duplicate();
  subscriber.on('error', (err: Error) => opts.log.warn({ err: err.message }, 'redis subscriber error'));
  subscriber.on('message', (ch: string, raw: string) => {
    if (ch !== channel) return;
    let msg: Partial<Envelope>;
    try {
      msg = JSON.parse(raw) as Partial<Envelope>;
    } catch {
      opts.log.warn({ channel }, 'ignored a malformed event message');
      return;
    }
    if (msg.node === nodeId) return;
    if (!isEvent(msg.event)) {
      opts.log.warn({ channel }, 'ignored a malformed event message');
      return;
    }
    for (const l of listeners) l(msg.event);
  });
  const subscribed = subscriber.subscribe(channel).then(
    () => undefined,
    (err: unknown) => {
      opts.log.warn({ err: (err as Error).message, channel }, 'redis subscribe failed');
    },
  );

  return {
    nodeId,
    async ready() {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          opts.log.warn({ channel }, 'redis subscription not ready; continuing without it for now');
          resolve();
        }, SUBSCRIBE_WAIT_MS);
        timer.unref();
      });
      await Promise.race([subscribed, timeout]);
      clearTimeout(timer);
    },
    async send(event) {
      const envelope: Envelope = { node: nodeId, event };
      try {
        await opts.redis.publish(channel, JSON.stringify(envelope));
      } catch (err) {
        // The event is already delivered locally (and stored when it is not internal); failing the
        // caller's operation because another node could not hear of it would be worse.
        opts.log.warn(
          { err: (err as Error).message, topic: event.topic, type: event.type },
          'event fan-out failed',
        );
      }
    },
    onReceive(listener) {
      listeners.push(listener);
    },
    async close() {
      listeners.length = 0;
      subscriber.disconnect();
    },
  };
}
