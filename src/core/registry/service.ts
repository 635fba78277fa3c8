import type { Logger } from 'pino';
import { z } from 'zod';
import type { AuditService } from '../../hub/audit/service.js';
import type { RequestContext } from '../../hub/auth/principal.js';
import { newId } from '../../hub/auth/tokens.js';
import { isUniqueViolation } from '../../platform/db/errors.js';
import type { EventBus } from '../../platform/events/bus.js';
import { decodeCursor, type Page, toPage } from '../../platform/http/pagination.js';
import type { ArtifactStore } from '../artifacts/store.js';
import { modelNameTaken, modelNotFound, notModelOwner, versionNotFound } from './errors.js';
import type { AliasRow, ModelRow, RegistryRepository, VersionRow } from './repository.js';
import type {
  CreateModelInput,
  ListModelsQuery,
  ModelDetail,
  ModelSummary,
  UpdateModelInput,
} from './schema.js';
import { toModelDetail, toModelSummary } from './view.js';

export interface RegistryDeps {
  repo: RegistryRepository;
  store: ArtifactStore;
  audit: AuditService;
  bus: EventBus;
  log: Logger;
  now?: () => Date;
  /** The runtime status of a model (loaded, loading, error), null when no runtime holds it. */
  runtimeStatus?: (modelId: string) => ModelSummary['status'] | null;
  /** Called before a model's rows go (serving unloads it so no host keeps its files in use). */
  beforeDelete?: (modelId: string) => Promise<void>;
}

// Events about a private model whose owner is gone go to admins only: no user has this id.
const ADMINS_ONLY = '-';

const isAdmin = (ctx: RequestContext) => ctx.principal?.role === 'admin';

/** Who may see and who may change a model; shared by every registry service. */
export function createModelAccess(deps: Pick<RegistryDeps, 'repo' | 'bus'>) {
  const mayRead = (ctx: RequestContext, m: ModelRow) =>
    m.visibility === 'internal' || isAdmin(ctx) || m.ownerId === ctx.principal?.userId;
  return {
    /** The model if the caller may see it; another user's private model is "not found". */
    async readable(ctx: RequestContext, idOrName: string): Promise<ModelRow> {
      const m = await deps.repo.modelByIdOrName(idOrName);
      if (!m || !mayRead(ctx, m)) throw modelNotFound();
      return m;
    },
    /** The model if the caller owns it or is an admin. */
    async writable(ctx: RequestContext, idOrName: string): Promise<ModelRow> {
      const m = await this.readable(ctx, idOrName);
      if (!isAdmin(ctx) && m.ownerId !== ctx.principal?.userId) throw notModelOwner();
      return m;
    },
    async version(m: ModelRow, version: number): Promise<VersionRow> {
      const v = await deps.repo.version(m.id, version);
      if (!v) throw versionNotFound();
      return v;
    },
    /** Publishes on `models`, visible to those who may see the model. */
    async publish(m: ModelRow, type: string, data: Record<string, unknown>) {
      await deps.bus.publish({
        topic: 'models',
        type,
        data: { model_id: m.id, name: m.name, ...data },
        userId: m.visibility === 'private' ? (m.ownerId ?? ADMINS_ONLY) : null,
      });
    },
  };
}
export type ModelAccess = ReturnType<typeof createModelAccess>;

export function createModelService(deps: RegistryDeps, access: ModelAccess) {
  const now = deps.now ?? (() => new Date());

  const detail = async (m: ModelRow): Promise<ModelDetail> => {
    const [{ versions, files }, aliases] = await Promise.all([
      deps.repo.versionsWithFiles(m.id),
      deps.repo.aliasesOf([m.id]),
    ]);
    return toModelDetail(m, versions, files, aliases, deps.runtimeStatus?.(m.id));
  };

  /** Deletes each digest's blob once no file references it; a failure is left to the collector. */
  const releaseBlobs = async (digests: string[]) => {
    let freed = 0;
    for (const sha of digests) {
      try {
        if (await deps.repo.removeIfUnreferenced(sha, async () => void (await deps.store.delete(sha))))
          freed++;
      } catch (err) {
        deps.log.warn({ err, sha256: sha }, 'could not delete an unreferenced blob; garbage collection will');
      }
    }
    return freed;
  };

  return {
    async create(ctx: RequestContext, input: CreateModelInput): Promise<ModelDetail> {
      const t = now();
      const m = await deps.repo.insertModel({
        id: newId(),
        name: input.name,
        ownerId: ctx.principal!.userId,
        task: input.task,
        description: input.description,
        tags: [...new Set(input.tags)],
        visibility: input.visibility,
        createdAt: t,
        updatedAt: t,
      });
      if (!m) throw modelNameTaken(input.name);
      await deps.audit.record(ctx, {
        action: 'model.create',
        targetType: 'model',
        targetId: m.id,
        details: { name: m.name, task: m.task, visibility: m.visibility },
      });
      await access.publish(m, 'model.created', { task: m.task });
      return detail(m);
    },

    async list(ctx: RequestContext, q: ListModelsQuery): Promise<Page<ModelSummary>> {
      const afterName = decodeCursor(q.cursor, z.string());
      const rows = await deps.repo.listModels({
        visibleTo: isAdmin(ctx) ? undefined : ctx.principal!.userId,
        search: q.search,
        task: q.task,
        tag: q.tag,
        afterName,
        limit: q.limit,
      });
      const ids = rows.slice(0, q.limit).map((m) => m.id);
      const [summaries, aliases] = await Promise.all([
        deps.repo.versionSummaries(ids),
        deps.repo.aliasesOf(ids),
      ]);
      const latest = new Map(summaries.map((v) => [v.modelId, v]));
      const aliasesOf = new Map<string, AliasRow[]>();
      for (const a of aliases) aliasesOf.set(a.modelId, [...(aliasesOf.get(a.modelId) ?? []), a]);
      return toPage(
        rows,
        q.limit,
        (m) =>
          toModelSummary(m, {
            count: latest.get(m.id)?.count ?? 0,
            latest: latest.get(m.id),
            aliases: aliasesOf.get(m.id) ?? [],
            status: deps.runtimeStatus?.(m.id),
          }),
        (m) => m.name.toLowerCase(),
      );
    },

    async get(ctx: RequestContext, idOrName: string): Promise<ModelDetail> {
      return detail(await access.readable(ctx, idOrName));
    },

    async update(ctx: RequestContext, idOrName: string, input: UpdateModelInput): Promise<ModelDetail> {
      const m = await access.writable(ctx, idOrName);
      const set = {
        ...(input.name !== undefined ? { name: input.name } : {}),
        ...(input.task !== undefined ? { task: input.task } : {}),
        ...(input.description !== undefined ? { description: input.description } : {}),
        ...(input.tags !== undefined ? { tags: [...new Set(input.tags)] } : {}),
        ...(input.visibility !== undefined ? { visibility: input.visibility } : {}),
      };
      let updated: ModelRow | undefined;
      try {
        updated = await deps.repo.updateModel(m.id, { ...set, updatedAt: now() });
      } catch (err) {
        if (input.name !== undefined && isUniqueViolation(err)) throw modelNameTaken(input.name);
        throw err;
      }
      if (!updated) throw modelNotFound();
      await deps.audit.record(ctx, {
        action: 'model.update',
        targetType: 'model',
        targetId: m.id,
        details: { changed: Object.keys(set), ...(input.name ? { from_name: m.name } : {}) },
      });
      // Both audiences hear about a visibility change: those who could see it before and after.
      await access.publish(updated, 'model.updated', { changed: Object.keys(set) });
      if (m.visibility !== updated.visibility)
        await access.publish(m, 'model.updated', { changed: ['visibility'] });
      return detail(updated);
    },

    async remove(
      ctx: RequestContext,
      idOrName: string,
    ): Promise<{ id: string; deleted: true; blobs_freed: number }> {
      const m = await access.writable(ctx, idOrName);
      await deps.beforeDelete?.(m.id);
      const digests = await deps.repo.deleteModel(m.id);
      if (!digests) throw modelNotFound();
      await deps.audit.record(ctx, {
        action: 'model.delete',
        targetType: 'model',
        targetId: m.id,
        details: { name: m.name },
      });
      await access.publish(m, 'model.deleted', {});
      return { id: m.id, deleted: true, blobs_freed: await releaseBlobs(digests) };
    },
  };
}
export type ModelService = ReturnType<typeof createModelService>;
