import type { Logger } from 'pino';
import { z } from 'zod';
import { type EventBus, INTERNAL_TOPIC, type PolarEvent } from '../../platform/events/bus.js';
import { decodeCursor, type Page, toPage } from '../../platform/http/pagination.js';
import type { AuditService } from '../audit/service.js';
import type { RequestContext } from '../auth/principal.js';
import { describeSection, secretFieldsOf } from './describe.js';
import { contention, scopeNotFound, sectionNotFound, unknownField, versionConflict } from './errors.js';
import type { SectionDef, SettingsReader, SettingsRegistry } from './registry.js';
import type { HistoryRow, SettingsRepository, SettingsRow } from './repository.js';
import type { SettingsChange, SettingsSection, SettingsSectionSchema } from './schema.js';
import {
  applyPatch,
  diffValues,
  maskValues,
  openSecrets,
  resolveStored,
  sealSecrets,
  stableJson,
  unknownFields,
  type Values,
  validate,
} from './values.js';

/** Signal between nodes: re-read this section from the database. */
export const SETTINGS_CHANGED = 'settings.changed';
/** Topic of the client-visible event (values masked). */
export const SETTINGS_TOPIC = 'settings';

export interface UpdateInput {
  scope: string;
  section: string;
  /** Partial values merged over the current ones; null returns a field to its default. */
  values: Values;
  /** When given, the update applies only if the section is still at this version. */
  expectedVersion?: number | undefined;
}

export type ChangeListener<S extends z.ZodObject> = (values: z.infer<S>, previous: z.infer<S>) => void;

interface Cached {
  /** What an admin set, secrets in plaintext: never leaves this process unmasked. */
  stored: Values;
  values: Values;
  version: number;
  updatedAt: Date | null;
  updatedBy: string | null;
}

/** Compare-and-set retries when no version was asked for and another writer got there first. */
const MAX_ATTEMPTS = 5;

const keyOf = (d: { scope: string; section: string }) => `${d.scope}/${d.section}`;

const toChangeView = (r: HistoryRow): SettingsChange => ({
  id: String(r.id),
  scope: r.scope,
  section: r.section,
  version: r.version,
  changes: r.changes,
  changed_by: r.changedBy,
  changed_by_name: r.changedByName,
  changed_at: r.changedAt.toISOString(),
  request_id: r.requestId,
});

export interface SettingsServiceDeps {
  registry: SettingsRegistry;
  repo: SettingsRepository;
  audit: AuditService;
  bus: EventBus;
  log: Logger;
  /** Subkey that seals secret fields (derived for the 'settings' purpose). */
  key: Buffer;
  /** Values under the stored ones, by `scope/section` (tests raise limits this way). */
  base?: Record<string, Values>;
  now?: () => Date;
}

/**
 * Settings live in the database and are served from memory: `load()` reads every section once, a
 * change refreshes this node at once and other nodes through an internal bus event, so `get()` is
 * synchronous and cheap enough for hot paths.
 */
export async function createSettingsService(deps: SettingsServiceDeps) {
  const now = deps.now ?? (() => new Date());
  const cache = new Map<string, Cached>();
  const listeners = new Map<string, Set<ChangeListener<z.ZodObject>>>();

  const base = (def: SectionDef): Values => deps.base?.[keyOf(def)] ?? {};

  const must = (scope: string, section: string): SectionDef => {
    const def = deps.registry.find(scope, section);
    if (!def) throw sectionNotFound(scope, section);
    return def;
  };

  /** Plaintext stored values and effective values of a row (or of nothing stored). */
  const fromRow = (def: SectionDef, row: SettingsRow | undefined): Cached => {
    const opened = row ? openSecrets(def, deps.key, row.values, secretFieldsOf(def)) : undefined;
    const r = resolveStored(def, base(def), opened?.values ?? {});
    const skipped = [...(opened?.unreadable ?? []), ...r.dropped];
    if (skipped.length > 0) {
      // Field names only: the values may be secrets.
      deps.log.warn(
        { section: keyOf(def), fields: skipped },
        'stored settings ignored (unreadable or invalid)',
      );
    }
    return {
      stored: r.stored,
      values: r.values,
      version: row?.version ?? 0,
      updatedAt: row?.updatedAt ?? null,
      updatedBy: row?.updatedBy ?? null,
    };
  };

  const install = (def: SectionDef, next: Cached) => {
    const previous = cache.get(keyOf(def));
    cache.set(keyOf(def), next);
    if (!previous || stableJson(previous.values) === stableJson(next.values)) return;
    for (const l of listeners.get(keyOf(def)) ?? []) {
      try {
        l(next.values, previous.values);
      } catch (err) {
        deps.log.error({ err, section: keyOf(def) }, 'settings change listener failed');
      }
    }
  };

  const view = (def: SectionDef, c: Cached): SettingsSection => ({
    scope: def.scope,
    section: def.section,
    description: def.description,
    values: maskValues(c.values, secretFieldsOf(def)),
    version: c.version,
    updated_at: c.updatedAt?.toISOString() ?? null,
    updated_by: c.updatedBy,
  });

  const cached = (def: SectionDef): Cached => {
    const c = cache.get(keyOf(def));
    if (!c) throw new Error(`settings section ${keyOf(def)} is not registered`);
    return c;
  };

  /** Re-reads one section; an older row than what is in memory is ignored (events may cross). */
  const reload = async (def: SectionDef) => {
    const next = fromRow(def, await deps.repo.get(def.scope, def.section));
    if (next.version > cached(def).version) install(def, next);
  };

  const onBusEvent = (e: PolarEvent) => {
    if (e.topic !== INTERNAL_TOPIC || e.type !== SETTINGS_CHANGED) return;
    const def = deps.registry.find(String(e.data.scope), String(e.data.section));
    if (!def || Number(e.data.version) <= cached(def).version) return;
    reload(def).catch((err: unknown) =>
      deps.log.warn({ err, section: keyOf(def) }, 'settings reload failed'),
    );
  };

  // Start: every registered section from the database, over defaults and base values.
  const rows = new Map((await deps.repo.all()).map((r) => [keyOf(r), r]));
  for (const def of deps.registry.all()) {
    const b = base(def);
    if (!def.schema.safeParse(b).success)
      throw new Error(`settings base values for ${keyOf(def)} are invalid`);
    cache.set(keyOf(def), fromRow(def, rows.get(keyOf(def))));
  }
  const unsubscribe = deps.bus.subscribe(onBusEvent);

  const reader: SettingsReader = {
    get: <S extends z.ZodObject>(def: SectionDef<S>) => cached(def).values as z.infer<S>,
  };

  return {
    ...reader,

    /** 0 while the section holds only defaults (and base values). */
    version: (def: SectionDef): number => cached(def).version,

    /** Called on this node after any change of the section, wherever it was made. */
    onChange<S extends z.ZodObject>(def: SectionDef<S>, listener: ChangeListener<S>): () => void {
      const set = listeners.get(keyOf(def)) ?? new Set();
      listeners.set(keyOf(def), set);
      const l = listener as unknown as ChangeListener<z.ZodObject>;
      set.add(l);
      return () => set.delete(l);
    },

    describe: (): SettingsSectionSchema[] => deps.registry.all().map(describeSection),

    list: (_ctx: RequestContext): SettingsSection[] => deps.registry.all().map((d) => view(d, cached(d))),

    listScope(_ctx: RequestContext, scope: string): SettingsSection[] {
      if (!deps.registry.hasScope(scope)) throw scopeNotFound(scope);
      return deps.registry
        .all()
        .filter((d) => d.scope === scope)
        .map((d) => view(d, cached(d)));
    },

    read(_ctx: RequestContext, input: { scope: string; section: string }): SettingsSection {
      const def = must(input.scope, input.section);
      return view(def, cached(def));
    },

    async update(ctx: RequestContext, input: UpdateInput): Promise<SettingsSection> {
      const def = must(input.scope, input.section);
      const unknown = unknownFields(def, input.values);
      if (unknown.length > 0) throw unknownField(def.scope, def.section, unknown);
      const secrets = secretFieldsOf(def);
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        // The database, not this node's memory, is the truth another node may have moved on.
        const current = fromRow(def, await deps.repo.get(def.scope, def.section));
        if (input.expectedVersion !== undefined && input.expectedVersion !== current.version) {
          throw versionConflict(input.expectedVersion, current.version);
        }
        const stored = applyPatch(current.stored, input.values, secrets, current.values);
        const values = validate(def, base(def), stored);
        const changes = diffValues(current.values, values, secrets);
        if (Object.keys(changes).length === 0 && stableJson(stored) === stableJson(current.stored)) {
          return view(def, current);
        }
        const at = now();
        const by = ctx.principal?.userId ?? null;
        const row = await deps.repo.write({
          scope: def.scope,
          section: def.section,
          values: sealSecrets(def, deps.key, stored, secrets),
          fromVersion: current.version,
          changedBy: by,
          changes,
          requestId: ctx.requestId,
          at,
        });
        if (!row) {
          if (input.expectedVersion !== undefined) {
            const latest = await deps.repo.get(def.scope, def.section);
            throw versionConflict(input.expectedVersion, latest?.version ?? 0);
          }
          continue;
        }
        const next: Cached = { stored, values, version: row.version, updatedAt: at, updatedBy: by };
        if (next.version > cached(def).version) install(def, next);
        const changed = Object.keys(changes);
        await deps.audit.record(ctx, {
          action: 'settings.update',
          targetType: 'settings',
          targetId: keyOf(def),
          details: { version: row.version, changed },
        });
        const result = view(def, next);
        // The change is committed: a failed signal must not turn it into an error for the caller.
        await deps.bus
          .publish({
            topic: INTERNAL_TOPIC,
            type: SETTINGS_CHANGED,
            data: { scope: def.scope, section: def.section, version: row.version },
          })
          .catch((err: unknown) => deps.log.error({ err }, 'settings change not signalled to other nodes'));
        await deps.bus
          .publish({ topic: SETTINGS_TOPIC, type: 'settings.updated', data: { ...result, changed } })
          .catch((err: unknown) => deps.log.warn({ err }, 'settings event not published'));
        return result;
      }
      throw contention();
    },

    async history(
      _ctx: RequestContext,
      q: { scope?: string; section?: string; limit: number; cursor?: string | undefined },
    ): Promise<Page<SettingsChange>> {
      if (q.scope !== undefined && q.section !== undefined) must(q.scope, q.section);
      const beforeId = decodeCursor(q.cursor, z.number().int());
      const rows = await deps.repo.history({ scope: q.scope, section: q.section, beforeId, limit: q.limit });
      return toPage(rows, q.limit, toChangeView, (r) => r.id);
    },

    close() {
      unsubscribe();
      listeners.clear();
    },
  };
}
export type SettingsService = Awaited<ReturnType<typeof createSettingsService>>;
