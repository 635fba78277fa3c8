import { bigserial, index, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * The event log behind /ws: every published event gets a monotonically increasing id so a client can
 * resume from the last id it saw. Pruned by age; holds nothing that is not also elsewhere.
 */
export const events = pgTable(
  'events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    topic: text('topic').notNull(),
    type: text('type').notNull(),
    /** Restricts delivery to one user (and admins), e.g. a user's own job events. */
    userId: text('user_id'),
    data: jsonb('data').$type<Record<string, unknown>>().notNull(),
    at: timestamp('at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [index('events_topic_idx').on(t.topic, t.id), index('events_at_idx').on(t.at)],
);
