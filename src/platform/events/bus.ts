import { and, asc, eq, gt, inArray, isNull, lt, min, or, type SQL } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { events } from '../db/tables.js';

export interface PolarEvent {
  id: number;
  topic: string;
  type: string;
  /** When set, only this user (and admins) may see the event. */
  user_id: string | null;
  data: Record<string, unknown>;
  at: string;
}

export interface PublishInput {
  topic: string;
  type: string;
  data: Record<string, unknown>;
  userId?: string | null;
}

export type EventListener = (event: PolarEvent) => void;

/**
 * Publishes events to this node's listeners and, through a Fanout, to other nodes. Events on
 * persistent topics are stored first so a client can resume from the last id it saw.
 */
export interface EventBus {
  publish(input: PublishInput): Promise<PolarEvent>;
  subscribe(listener: EventListener): () => void;
  /**
   * Stored events after `lastId` on `topics`, oldest first. With `forUser`, only events that user may
   * see (no user_id, or theirs); without it, every event.
   */
  since(lastId: number, topics: readonly string[], limit: number, forUser?: string): Promise<PolarEvent[]>;
  /** Id of the oldest stored event (null when none): a resume point below it may have lost events. */
  oldestId(): Promise<number | null>;
  prune(olderThan: Date): Promise<number>;
  close(): Promise<void>;
}

/** Carries events between nodes (Redis pub/sub when configured); a single node needs none. */
export interface Fanout {
  send(event: PolarEvent): Promise<void>;
  onReceive(listener: EventListener): void;
  close(): Promise<void>;
}

/** Topics that are signals between nodes, never stored nor shown to clients. */
export const INTERNAL_TOPIC = 'internal';

export function createEventBus(db: Db, fanout?: Fanout): EventBus {
  const listeners = new Set<EventListener>();
  const deliver = (e: PolarEvent) => {
    for (const l of listeners) {
      try {
        l(e);
      } catch {
        // A failing listener must not stop delivery to the others.
      }
    }
  };
  fanout?.onReceive(deliver);

  return {
    async publish(input) {
      let event: PolarEvent;
      if (input.topic === INTERNAL_TOPIC) {
        event = {
          id: 0,
          topic: input.topic,
          type: input.type,
          user_id: input.userId ?? null,
          data: input.data,
          at: new Date().toISOString(),
        };
      } else {
        const [row] = await db
          .insert(events)
          .values({ topic: input.topic, type: input.type, userId: input.userId ?? null, data: input.data })
          .returning();
        if (!row) throw new Error('event insert returned no row');
        event = {
          id: row.id,
          topic: row.topic,
          type: row.type,
          user_id: row.userId,
          data: row.data,
          at: row.at.toISOString(),
        };
      }
      deliver(event);
      await fanout?.send(event);
      return event;
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async since(lastId, topics, limit, forUser) {
      if (topics.length === 0) return [];
      const where: (SQL | undefined)[] = [gt(events.id, lastId), inArray(events.topic, [...topics])];
      if (forUser !== undefined) where.push(or(isNull(events.userId), eq(events.userId, forUser)));
      const rows = await db
        .select()
        .from(events)
        .where(and(...where))
        .orderBy(asc(events.id))
        .limit(limit);
      return rows.map((r) => ({
        id: r.id,
        topic: r.topic,
        type: r.type,
        user_id: r.userId,
        data: r.data,
        at: r.at.toISOString(),
      }));
    },
    async oldestId() {
      const [row] = await db.select({ id: min(events.id) }).from(events);
      return row?.id ?? null;
    },
    async prune(olderThan) {
      const res = await db.delete(events).where(lt(events.at, olderThan)).returning({ id: events.id });
      return res.length;
    },
    async close() {
      listeners.clear();
      await fanout?.close();
    },
  };
}
