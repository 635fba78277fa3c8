import { eq } from 'drizzle-orm';
import type { Db } from '../../platform/db/client.js';
import { systemState } from '../tables.js';

/** Small facts about this installation, in the `system_state` key/value table. */
export function createSystemStateRepository(db: Db) {
  return {
    async get<T>(key: string): Promise<T | undefined> {
      const [r] = await db
        .select({ value: systemState.value })
        .from(systemState)
        .where(eq(systemState.key, key));
      return r?.value as T | undefined;
    },
    async set(key: string, value: unknown, at: Date): Promise<void> {
      await db
        .insert(systemState)
        .values({ key, value, updatedAt: at })
        .onConflictDoUpdate({ target: systemState.key, set: { value, updatedAt: at } });
    },
  };
}
export type SystemStateRepository = ReturnType<typeof createSystemStateRepository>;
