import { asc, eq, gt, sql } from 'drizzle-orm';
import type { Db } from '../../platform/db/client.js';
import { trainers } from './tables.js';

export type TrainerRow = typeof trainers.$inferSelect;
export type NewTrainer = typeof trainers.$inferInsert;

export function createTrainerRepository(db: Db) {
  return {
    async insert(row: NewTrainer): Promise<TrainerRow> {
      const [r] = await db.insert(trainers).values(row).returning();
      return r as TrainerRow;
    },
    /** By id, or by name case-insensitively. */
    async byIdOrName(idOrName: string): Promise<TrainerRow | undefined> {
      const [byId] = await db.select().from(trainers).where(eq(trainers.id, idOrName));
      if (byId) return byId;
      const [byName] = await db
        .select()
        .from(trainers)
        .where(eq(sql`lower(${trainers.name})`, idOrName.toLowerCase()));
      return byName;
    },
    /** By name, after `after` (a name), in name order. */
    async list(after: string | undefined, limit: number): Promise<TrainerRow[]> {
      return db
        .select()
        .from(trainers)
        .where(after === undefined ? undefined : gt(trainers.name, after))
        .orderBy(asc(trainers.name))
        .limit(limit + 1);
    },
    async update(id: string, set: Partial<NewTrainer>): Promise<TrainerRow | undefined> {
      const [r] = await db.update(trainers).set(set).where(eq(trainers.id, id)).returning();
      return r;
    },
    async remove(id: string): Promise<boolean> {
      const gone = await db.delete(trainers).where(eq(trainers.id, id)).returning({ id: trainers.id });
      return gone.length > 0;
    },
  };
}
export type TrainerRepository = ReturnType<typeof createTrainerRepository>;
