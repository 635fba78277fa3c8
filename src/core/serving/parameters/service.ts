import type { AuditService } from '../../../hub/audit/service.js';
import type { RequestContext } from '../../../hub/auth/principal.js';
import { modelNotFound } from '../../registry/errors.js';
import type { ModelRow } from '../../registry/repository.js';
import type { ModelAccess } from '../../registry/service.js';
import { noParameters, parametersConflict } from './errors.js';
import type { ChangeResult, ParametersRepository, ParametersRow } from './repository.js';
import {
  cleanOverrides,
  DEFAULT_PARAMETERS,
  type ModelParameters,
  PARAMETER_NAMES,
  type ParameterOverrides,
  type ParametersReset,
  type ParametersUpdated,
  type ParametersView,
  resolveParameters,
} from './schema.js';

export interface ParameterDeps {
  repo: ParametersRepository;
  access: ModelAccess;
  audit: AuditService;
  now?: () => Date;
}

/** An answer and the version it leaves the parameters at (the ETag). */
export interface Versioned<T> {
  body: T;
  version: number;
}

/** Every parameter: the stored overrides over Polar's defaults (the runtime's are not known here). */
const withDefaults = (stored: ParameterOverrides): ModelParameters => {
  const all = resolveParameters({ model: stored });
  const out: Record<string, unknown> = {};
  for (const name of PARAMETER_NAMES) if (all[name] !== undefined) out[name] = all[name];
  return out as ModelParameters;
};

/**
 * Per-model generation parameters (seed 003's Parameter Manager). Anyone who may read a model may
 * read its parameters; changing them is a model write (owner or admin), audited and announced on
 * `models` like every other change to the model.
 */
export function createParameterService(deps: ParameterDeps) {
  const now = deps.now ?? (() => new Date());

  const change = async (
    ctx: RequestContext,
    m: ModelRow,
    next: (current: Record<string, unknown>) => Record<string, unknown>,
    expectedVersion: number | undefined,
  ): Promise<ParametersRow & { before: ParametersRow | undefined }> => {
    const r: ChangeResult = await deps.repo.change(m.id, next, {
      expectedVersion,
      by: ctx.principal?.userId ?? null,
      at: now(),
    });
    if (r.kind === 'model_missing') throw modelNotFound();
    if (r.kind === 'conflict') throw parametersConflict(expectedVersion!, r.actual);
    return { ...r.after, before: r.before };
  };

  return {
    async get(ctx: RequestContext, idOrName: string): Promise<Versioned<ParametersView>> {
      const m = await deps.access.readable(ctx, idOrName);
      const row = await deps.repo.get(m.id);
      return {
        body: {
          model_id: m.id,
          parameters: withDefaults(cleanOverrides(row?.parameters)),
          last_updated: row?.updatedAt.toISOString() ?? null,
        },
        version: row?.version ?? 0,
      };
    },

    /** Stores the given parameters over the model's current ones; the others keep their values. */
    async update(
      ctx: RequestContext,
      idOrName: string,
      input: { parameters: ParameterOverrides; expectedVersion?: number | undefined },
    ): Promise<Versioned<ParametersUpdated>> {
      const changed = Object.keys(input.parameters) as (keyof ParameterOverrides)[];
      if (changed.length === 0) throw noParameters();
      const m = await deps.access.writable(ctx, idOrName);
      const row = await change(
        ctx,
        m,
        (current) => ({ ...cleanOverrides(current), ...input.parameters }),
        input.expectedVersion,
      );
      const before = cleanOverrides(row.before?.parameters);
      await deps.audit.record(ctx, {
        action: 'model.parameters.update',
        targetType: 'model',
        targetId: m.id,
        details: {
          version: row.version,
          changed,
          from: Object.fromEntries(changed.map((k) => [k, before[k] ?? null])),
          to: input.parameters,
        },
      });
      await deps.access.publish(m, 'model.parameters.updated', { version: row.version, changed });
      return {
        body: {
          status: 'success',
          message: `Updated ${changed.length} parameter${changed.length > 1 ? 's' : ''} of ${m.name}`,
          model_id: m.id,
          updated_parameters: input.parameters,
          updated_at: row.updatedAt.toISOString(),
        },
        version: row.version,
      };
    },

    /** Forgets every stored parameter: the model uses the defaults again. */
    async reset(
      ctx: RequestContext,
      idOrName: string,
      input: { expectedVersion?: number | undefined } = {},
    ): Promise<Versioned<ParametersReset>> {
      const m = await deps.access.writable(ctx, idOrName);
      // The row stays, emptied, so its version keeps counting and an old If-Match never matches again.
      const row = await change(ctx, m, () => ({}), input.expectedVersion);
      await deps.audit.record(ctx, {
        action: 'model.parameters.reset',
        targetType: 'model',
        targetId: m.id,
        details: { version: row.version, from: cleanOverrides(row.before?.parameters) },
      });
      await deps.access.publish(m, 'model.parameters.reset', { version: row.version });
      return {
        body: {
          status: 'success',
          message: `Parameters of ${m.name} reset to their defaults`,
          model_id: m.id,
          default_parameters: { ...DEFAULT_PARAMETERS },
          reset_at: row.updatedAt.toISOString(),
        },
        version: row.version,
      };
    },

    /**
     * The overrides stored for a model, for the inference layer to pass to `resolveParameters` as
     * the `model` layer; `{}` when none (or the model is gone). No access check: the caller has
     * already resolved the model for this request.
     */
    async effective(modelId: string): Promise<ParameterOverrides> {
      return cleanOverrides((await deps.repo.get(modelId))?.parameters);
    },
  };
}
export type ParameterService = ReturnType<typeof createParameterService>;
