import { z } from 'zod';
import type { RequestContext } from '../../hub/auth/principal.js';
import { decodeCursor, type Page, toPage } from '../../platform/http/pagination.js';
import {
  aliasConflict,
  aliasNotFound,
  modelNotFound,
  noPreviousTarget,
  versionNotFound,
  versionRetired,
} from './errors.js';
import type { AliasHistoryRow, AliasRow, ModelRow, RegistryRepository } from './repository.js';
import type { AliasHistoryEntry, AliasView } from './schema.js';
import type { ModelAccess, RegistryDeps } from './service.js';
import { toHistoryEntry } from './view.js';

type Decide = (
  current: AliasRow | undefined,
  last: AliasHistoryRow | undefined,
) => { to: number | null; reason: string };

/**
 * Aliases move under the model's row lock, so concurrent moves are applied one after the other and
 * each one is in the history; a caller that states `expected_version` gets 409 instead when another
 * move got there first.
 */
export function createAliasService(deps: Pick<RegistryDeps, 'repo' | 'audit'>, access: ModelAccess) {
  const repo: RegistryRepository = deps.repo;

  const change = async (ctx: RequestContext, m: ModelRow, alias: string, action: string, decide: Decide) => {
    const p = ctx.principal;
    const result = await repo.changeAlias(
      m.id,
      alias,
      async (current, last, tx) => {
        const d = decide(current, last);
        if (d.to !== null) {
          const v = await repo.versionIn(tx, m.id, d.to);
          if (!v) throw versionNotFound();
          if (v.status === 'retired') throw versionRetired(d.to);
        }
        return d;
      },
      { id: p?.userId ?? null, name: p?.username ?? null },
    );
    if (!result) throw modelNotFound();
    await deps.audit.record(ctx, {
      action,
      targetType: 'model',
      targetId: m.id,
      details: { alias, from: result.from, to: result.to, reason: result.entry.reason },
    });
    await access.publish(m, 'model.alias.changed', { alias, from: result.from, to: result.to });
    return { model_id: m.id, alias, version: result.to, previous_version: result.from } satisfies AliasView;
  };

  return {
    async set(
      ctx: RequestContext,
      idOrName: string,
      alias: string,
      input: { version: number; reason: string; expected_version?: number | null | undefined },
    ): Promise<AliasView> {
      const m = await access.writable(ctx, idOrName);
      return change(ctx, m, alias, 'model.alias.set', (current) => {
        const actual = current?.version ?? null;
        if (input.expected_version !== undefined && input.expected_version !== actual) {
          throw aliasConflict(input.expected_version, actual);
        }
        return { to: input.version, reason: input.reason };
      });
    },

    /** Points the alias back at the version it pointed at before its last change. */
    async rollback(ctx: RequestContext, idOrName: string, alias: string, reason: string): Promise<AliasView> {
      const m = await access.writable(ctx, idOrName);
      return change(ctx, m, alias, 'model.alias.rollback', (current, last) => {
        if (!current && !last) throw aliasNotFound();
        const to = last?.fromVersion ?? null;
        if (to === null) throw noPreviousTarget();
        return { to, reason: reason || `rollback to version ${to}` };
      });
    },

    async remove(ctx: RequestContext, idOrName: string, alias: string, reason: string): Promise<AliasView> {
      const m = await access.writable(ctx, idOrName);
      return change(ctx, m, alias, 'model.alias.delete', (current) => {
        if (!current) throw aliasNotFound();
        return { to: null, reason };
      });
    },

    async history(
      ctx: RequestContext,
      idOrName: string,
      alias: string,
      q: { limit: number; cursor?: string | undefined },
    ): Promise<Page<AliasHistoryEntry>> {
      const m = await access.readable(ctx, idOrName);
      const before = decodeCursor(q.cursor, z.number().int());
      const rows = await repo.aliasHistory(m.id, alias, before, q.limit);
      return toPage(rows, q.limit, toHistoryEntry, (r) => r.id);
    },
  };
}
export type AliasService = ReturnType<typeof createAliasService>;
