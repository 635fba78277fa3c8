import { asc, eq, gte, inArray, lt } from 'drizzle-orm';
import type { Db } from '../../platform/db/client.js';
import { trainingWorkers, type WorkerState } from '../jobs/tables.js';

export type WorkerRow = typeof trainingWorkers.$inferSelect;

/** Worker rows: each pool writes its own, anyone reads all of them. */
export function createWorkerRepository(db: Db) {
  return {
    async upsert(row: {
      id: string;
      host: string;
      pid: number;
      state: WorkerState;
      currentJobId: string | null;
      startedAt: Date;
      heartbeatAt: Date;
    }): Promise<void> {
      await db
        .insert(trainingWorkers)
        .values(row)
        .onConflictDoUpdate({
          target: trainingWorkers.id,
          set: { state: row.state, currentJobId: row.currentJobId, heartbeatAt: row.heartbeatAt },
        });
    },
    async heartbeat(ids: string[], at: Date): Promise<void> {
      if (ids.length > 0)
        await db.update(trainingWorkers).set({ heartbeatAt: at }).where(inArray(trainingWorkers.id, ids));
    },
    async remove(ids: string[]): Promise<void> {
      if (ids.length > 0) await db.delete(trainingWorkers).where(inArray(trainingWorkers.id, ids));
    },
    async get(id: string): Promise<WorkerRow | undefined> {
      const [r] = await db.select().from(trainingWorkers).where(eq(trainingWorkers.id, id));
      return r;
    },
    /** Workers heard from since `since`, by host then age. */
    async alive(since: Date): Promise<WorkerRow[]> {
      return db
        .select()
        .from(trainingWorkers)
        .where(gte(trainingWorkers.heartbeatAt, since))
        .orderBy(asc(trainingWorkers.host), asc(trainingWorkers.startedAt), asc(trainingWorkers.id));
    },
    /** Removes rows of workers silent since before `before`: their process is gone. */
    async prune(before: Date): Promise<number> {
      const gone = await db
        .delete(trainingWorkers)
        .where(lt(trainingWorkers.heartbeatAt, before))
        .returning({ id: trainingWorkers.id });
      return gone.length;
    },
  };
}
export type WorkerRepository = ReturnType<typeof createWorkerRepository>;
