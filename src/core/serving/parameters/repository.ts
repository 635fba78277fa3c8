import { eq } from 'drizzle-orm';
import type { Db } from '../../../platform/db/client.js';
import { models } from '../../tables.js';
import { modelParameters } from '../tables.js';

export type ParametersRow = typeof modelParameters.$inferSelect;

export type ChangeResult =
  | { kind: 'changed'; before: ParametersRow | undefined; after: ParametersRow }
  | { kind: 'conflict'; actual: number }
  | { kind: 'model_missing' };

export function createParametersRepository(db: Db) {
  return {
    async get(modelId: string): Promise<ParametersRow | undefined> {
      const [r] = await db.select().from(modelParameters).where(eq(modelParameters.modelId, modelId));
      return r;
    },

    /**
     * Replaces a model's stored overrides with `next(current)` under the model row's lock, so
     * concurrent writers apply one after the other and each sees the other's result; the first write
     * creates the row. With `expectedVersion` (0: nothing stored yet), a different stored version
     * changes nothing and answers `conflict`. `no key update` leaves foreign-key checks from other
     * tables (new versions, aliases) unblocked.
     */
    async change(
      modelId: string,
      next: (current: Record<string, unknown>) => Record<string, unknown>,
      opts: { expectedVersion?: number | undefined; by: string | null; at: Date },
    ): Promise<ChangeResult> {
      return db.transaction(async (tx) => {
        const [m] = await tx
          .select({ id: models.id })
          .from(models)
          .where(eq(models.id, modelId))
          .for('no key update');
        if (!m) return { kind: 'model_missing' };
        const where = eq(modelParameters.modelId, modelId);
        const [before] = await tx.select().from(modelParameters).where(where);
        const actual = before?.version ?? 0;
        if (opts.expectedVersion !== undefined && opts.expectedVersion !== actual)
          return { kind: 'conflict', actual };
        const set = {
          parameters: next(before?.parameters ?? {}),
          version: actual + 1,
          updatedAt: opts.at,
          updatedBy: opts.by,
        };
        const [after] = before
          ? await tx.update(modelParameters).set(set).where(where).returning()
          : await tx
              .insert(modelParameters)
              .values({ modelId, ...set })
              .returning();
        return { kind: 'changed', before, after: after! };
      });
    },
  };
}
export type ParametersRepository = ReturnType<typeof createParametersRepository>;
