import { z } from 'zod';
import { AppError } from '../../platform/errors.js';
import type { EventBus, PolarEvent } from '../../platform/events/bus.js';
import type { Principal } from '../auth/principal.js';
import { authorizeTopics, MAX_TOPICS, mayRead, seesEvent, type Topic } from './topics.js';

/**
 * Close codes a client may see, documented for client authors:
 * 1001 the node is shutting down; 1009 a client message was too large; 1011 internal error;
 * 1013 the client reads too slowly (reconnect and resume from the last id);
 * 4001 the credentials were revoked or are no longer valid (sign in again).
 */
export const CLOSE_CODES = Object.freeze({
  shutdown: 1001,
  internal: 1011,
  slowConsumer: 1013,
  revoked: 4001,
});

/** The subset of a `ws` WebSocket the stream uses, so tests can drive it with a fake. */
export interface EventSocket {
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: string): void;
  ping(): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
  on(event: 'message', listener: (data: unknown, isBinary: boolean) => void): unknown;
  on(event: 'pong' | 'close', listener: () => void): unknown;
}

const OPEN = 1;

export interface ConnectionLimits {
  /** Bytes queued for a client beyond which it is closed as a slow consumer. */
  maxBufferedBytes: number;
  /** Stored events replayed on resume; a larger gap asks the client to resync instead. */
  replayLimit: number;
  /** Live events held while the replay runs; more means the client cannot keep up. */
  maxPending: number;
}

const clientMessage = z.strictObject({
  op: z.enum(['subscribe', 'unsubscribe']),
  topics: z.array(z.string().max(64)).max(MAX_TOPICS),
});

/** What a client receives for an event. */
export const eventMessage = (e: PolarEvent) =>
  JSON.stringify({ id: e.id, topic: e.topic, type: e.type, at: e.at, data: e.data });

/**
 * One client's subscription. Live events are held while stored events are replayed, then flushed
 * without the ones the replay already sent, so a resuming client sees no gap and no duplicate.
 */
export class Connection {
  principal: Principal;
  readonly token: string;
  readonly topics: Set<Topic>;
  closed = false;
  private alive = true;
  private live = false;
  private pending: PolarEvent[] = [];
  /** Ids sent by the replay; a live copy of one can still arrive from another node shortly after. */
  private replayed: Set<number> | null = null;
  private replayedTicks = 0;

  constructor(
    private readonly socket: EventSocket,
    opts: { principal: Principal; token: string; topics: readonly Topic[] },
    private readonly limits: ConnectionLimits,
  ) {
    this.principal = opts.principal;
    this.token = opts.token;
    this.topics = new Set(opts.topics);
    socket.on('pong', () => {
      this.alive = true;
    });
    socket.on('message', (data, isBinary) => {
      this.alive = true;
      this.onMessage(data, isBinary);
    });
  }

  /** Replays stored events after `lastEventId` (when given), then goes live. */
  async start(bus: EventBus, lastEventId: number | undefined): Promise<void> {
    if (lastEventId !== undefined) await this.replay(bus, lastEventId);
    if (this.closed) return;
    this.control({ type: 'subscribed', topics: [...this.topics] });
    this.live = true;
    const held = this.pending;
    this.pending = [];
    for (const e of held) {
      if (this.closed) return;
      if (!this.replayed?.has(e.id)) this.send(eventMessage(e));
    }
  }

  private async replay(bus: EventBus, lastEventId: number): Promise<void> {
    const topics = [...this.topics];
    const forUser = this.principal.role === 'admin' ? undefined : this.principal.userId;
    const [rows, oldest] = await Promise.all([
      bus.since(lastEventId, topics, this.limits.replayLimit + 1, forUser),
      bus.oldestId(),
    ]);
    // Ids below the oldest stored one were pruned (or never committed): the client may have missed some.
    const pruned = oldest === null ? lastEventId > 0 && rows.length === 0 : oldest > lastEventId + 1;
    if (pruned || rows.length > this.limits.replayLimit) {
      this.control({
        type: 'resync_required',
        reason: pruned ? 'events_pruned' : 'too_many_missed',
        detail:
          'Events after last_event_id are no longer all available; reload the state, then follow live events',
      });
      return;
    }
    this.replayed = new Set();
    for (const e of rows) {
      if (this.closed) return;
      // The query already narrows to the user; this is the authorization rule itself, kept at the socket.
      if (!seesEvent(this.principal, e.user_id)) continue;
      this.replayed.add(e.id);
      this.send(eventMessage(e));
    }
  }

  /** Offers one event; `text` serialises it once for all connections. */
  deliver(e: PolarEvent, text: () => string): void {
    if (this.closed || !this.topics.has(e.topic as Topic) || !seesEvent(this.principal, e.user_id)) return;
    if (!this.live) {
      if (this.pending.length >= this.limits.maxPending) {
        this.close(CLOSE_CODES.slowConsumer, 'too many events while catching up; resume from the last id');
        return;
      }
      this.pending.push(e);
      return;
    }
    if (this.replayed?.has(e.id)) return;
    this.send(text());
  }

  /** Ping, and drop a peer that did not answer the previous ping. Returns false when dropped. */
  heartbeat(): boolean {
    if (this.closed) return false;
    if (!this.alive) {
      this.closed = true;
      this.socket.terminate();
      return false;
    }
    this.alive = false;
    if (this.replayed && this.live && ++this.replayedTicks > 1) this.replayed = null;
    try {
      this.socket.ping();
    } catch {
      // A socket that cannot be pinged is gone; its close event cleans up.
    }
    return true;
  }

  /** Applies the caller's current rights (e.g. a narrowed key): topics no longer permitted are dropped. */
  refresh(principal: Principal): void {
    this.principal = principal;
    const dropped = [...this.topics].filter((t) => !mayRead(principal, t));
    if (dropped.length === 0) return;
    for (const t of dropped) this.topics.delete(t);
    this.control({ type: 'subscribed', topics: [...this.topics], dropped });
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.pending = [];
    try {
      this.socket.close(code, reason);
    } catch {
      this.socket.terminate();
    }
  }

  private onMessage(data: unknown, isBinary: boolean): void {
    if (this.closed) return;
    let msg: z.infer<typeof clientMessage>;
    try {
      if (isBinary) throw new Error('binary');
      msg = clientMessage.parse(JSON.parse(String(data)));
    } catch {
      this.control({
        type: 'error',
        code: 'invalid_message',
        detail: `Send JSON {"op":"subscribe"|"unsubscribe","topics":[...]} with at most ${MAX_TOPICS} topics`,
      });
      return;
    }
    if (msg.op === 'unsubscribe') {
      for (const t of msg.topics) this.topics.delete(t as Topic);
    } else {
      try {
        for (const t of authorizeTopics(this.principal, msg.topics)) this.topics.add(t);
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        this.control({ type: 'error', code: err.code, detail: err.message });
        return;
      }
    }
    this.control({ type: 'subscribed', topics: [...this.topics] });
  }

  private control(msg: { type: string } & Record<string, unknown>): void {
    this.send(JSON.stringify(msg));
  }

  private send(text: string): void {
    if (this.closed || this.socket.readyState !== OPEN) return;
    this.socket.send(text);
    // A client that stops reading must not make this node hold an unbounded queue for it.
    if (this.socket.bufferedAmount > this.limits.maxBufferedBytes) {
      this.close(CLOSE_CODES.slowConsumer, 'client too slow; resume from the last id');
    }
  }
}
