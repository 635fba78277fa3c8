import type { RequestContext } from '../../hub/auth/principal.js';
import type { SettingsReader } from '../../hub/settings/registry.js';
import type { RegistryRepository } from '../registry/repository.js';
import type { ModelAccess } from '../registry/service.js';
import type { RuntimeRegistry } from '../runtimes/registry.js';
import type { Entry, ModelManager } from './manager.js';
import type { RuntimeView } from './schema.js';
import { runtimeSettings } from './settings.js';
import { resolveTarget } from './target.js';

/** Load, unload and the runtime overview, as the API offers them. */
export function createServingService(deps: {
  repo: RegistryRepository;
  access: ModelAccess;
  manager: ModelManager;
  runtimes: RuntimeRegistry;
  settings: SettingsReader;
  now?: () => Date;
}) {
  const now = deps.now ?? (() => new Date());
  const keepAliveOf = (e: Entry) => e.keepAlive ?? deps.settings.get(runtimeSettings).keep_alive_seconds;

  return {
    async load(
      ctx: RequestContext,
      idOrName: string,
      body: {
        version?: number | undefined;
        alias?: string | undefined;
        config?: Record<string, unknown> | undefined;
        keep_alive?: number | undefined;
        allow_retired?: boolean | undefined;
      },
    ) {
      const t = await resolveTarget(
        deps,
        ctx,
        { model: idOrName, version: body.version, alias: body.alias },
        { allowRetired: body.allow_retired ?? false },
      );
      const e = await deps.manager.load(t.model, t.version, {
        config: body.config,
        keepAlive: body.keep_alive,
        allowRetired: body.allow_retired,
      });
      return {
        status: 'success' as const,
        message: `Model ${t.model.name} version ${t.version.version} is loaded (${e.runtime})`,
        model_id: t.model.id,
        version: t.version.version,
        runtime: e.runtime,
        loaded_at: (e.loadedAt ?? now()).toISOString(),
        memory_bytes: e.memory,
      };
    },

    async unload(ctx: RequestContext, idOrName: string, body: { version?: number | undefined }) {
      const m = await deps.access.readable(ctx, idOrName);
      const count = await deps.manager.unload(m.id, body.version);
      return {
        status: 'success' as const,
        message: count
          ? `Model ${m.name} is unloaded (${count} version${count > 1 ? 's' : ''})`
          : `Model ${m.name} was not loaded`,
        model_id: m.id,
        unloaded_at: now().toISOString(),
        versions_unloaded: count,
      };
    },

    async overview(ctx: RequestContext): Promise<RuntimeView> {
      await deps.manager.refreshMemory();
      const isAdmin = ctx.principal?.role === 'admin';
      const visible = deps.manager
        .entries()
        .filter(
          (e) => isAdmin || e.model.visibility === 'internal' || e.model.ownerId === ctx.principal?.userId,
        );
      const p = deps.settings.get(runtimeSettings);
      return {
        models: visible.map((e) => {
          const keepAlive = keepAliveOf(e);
          const idle = e.status === 'loaded' && !e.slots?.active && !e.slots?.queued;
          return {
            model_id: e.model.id,
            name: e.model.name,
            version: e.version.version,
            format: e.version.format,
            runtime: e.runtime,
            status: e.status,
            error: e.error,
            pid: e.host?.pid ?? null,
            memory_bytes: e.memory,
            loaded_at: e.loadedAt?.toISOString() ?? null,
            last_used_at: new Date(e.lastUsed).toISOString(),
            expires_at: idle && keepAlive >= 0 ? new Date(e.lastUsed + keepAlive * 1000).toISOString() : null,
            keep_alive: keepAlive,
            active: e.slots?.active ?? 0,
            queued: e.slots?.queued ?? 0,
            parallel: e.host?.capabilities.parallel ?? null,
            config: e.config,
          };
        }),
        memory_bytes: visible.reduce((s, e) => s + (e.status === 'error' ? 0 : e.memory), 0),
        policy: {
          max_loaded_models: p.max_loaded_models,
          memory_budget_mb: p.memory_budget_mb,
          keep_alive_seconds: p.keep_alive_seconds,
          single_model_mode: p.single_model_mode,
          auto_load: p.auto_load,
          queue_size: p.queue_size,
        },
        runtimes: deps.runtimes.list().map((r) => ({ name: r.name, formats: r.formats })),
      };
    },
  };
}
export type ServingService = ReturnType<typeof createServingService>;
