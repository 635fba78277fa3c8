import type { Logger } from 'pino';
import type { SettingsReader } from '../../hub/settings/registry.js';
import type { ArtifactStore } from '../artifacts/store.js';
import type { ModelRow, RegistryRepository, VersionRow } from '../registry/repository.js';
import { startHost as defaultStartHost, type HostedModel } from '../runtimes/host/client.js';
import type { RuntimeRegistry } from '../runtimes/registry.js';
import {
  memoryBudgetExceeded,
  modelInError,
  modelNotLoaded,
  modelUnloading,
  notServable,
  runtimeCapacity,
} from './errors.js';
import { materializeVersion, removeCacheDirs } from './materialize.js';
import { runtimeSettings } from './settings.js';
import { createSlots, type Slots } from './slots.js';

export type LoadStatus = 'loading' | 'loaded' | 'error' | 'unloading';

/** One loaded (or loading, or failed) version. */
export interface Entry {
  model: ModelRow;
  version: VersionRow;
  runtime: string;
  status: LoadStatus;
  host: HostedModel | null;
  ready: Promise<HostedModel>;
  error: string | null;
  loadedAt: Date | null;
  lastUsed: number;
  /** Seconds; undefined follows the setting. */
  keepAlive: number | undefined;
  config: Record<string, unknown>;
  allowRetired: boolean;
  /** Bytes: the host's last measured RSS, or an estimate from the files before it loads. */
  memory: number;
  slots: Slots | null;
  timer: NodeJS.Timeout | null;
  drained: (() => void) | null;
}

export interface LoadOptions {
  config?: Record<string, unknown> | undefined;
  keepAlive?: number | undefined;
  allowRetired?: boolean | undefined;
}

export interface Lease {
  host: HostedModel;
  entry: Entry;
  release(): void;
}

export interface ManagerDeps {
  repo: RegistryRepository;
  store: ArtifactStore;
  runtimes: RuntimeRegistry;
  settings: SettingsReader;
  log: Logger;
  /** Where versions are laid out as files for the runtimes. */
  cacheDir: string;
  /** Told about every status change, to publish events. */
  onChange?: (entry: Entry, status: LoadStatus | 'unloaded') => void;
  startHost?: typeof defaultStartHost;
  now?: () => number;
}

const MB = 1024 * 1024;
// Node itself plus a runtime's working buffers, on top of the weights.
const HOST_OVERHEAD = 64 * MB;
const DRAIN_MS = 30_000;

/**
 * Decides what is loaded: loads versions into host processes, shares a load between concurrent
 * callers, applies the policy (max loaded, memory budget, single-model mode: least recently used
 * idle versions make room), unloads idle versions after their keep-alive, and hands out slots.
 */
export function createModelManager(deps: ManagerDeps) {
  const entries = new Map<string, Entry>();
  const now = deps.now ?? Date.now;
  const start = deps.startHost ?? defaultStartHost;
  const policy = () => deps.settings.get(runtimeSettings);
  // Room is made and entries inserted one load at a time, so two loads cannot both take the last place.
  let admission: Promise<unknown> = Promise.resolve();
  const serially = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = admission.then(fn, fn);
    admission = run.catch(() => undefined);
    return run;
  };

  const changed = (e: Entry, status: LoadStatus | 'unloaded') => deps.onChange?.(e, status);
  const live = () => [...entries.values()].filter((e) => e.status !== 'error');
  const idle = (e: Entry) =>
    e.status === 'loaded' && (e.slots?.active ?? 0) === 0 && (e.slots?.queued ?? 0) === 0;

  function scheduleKeepAlive(e: Entry) {
    if (e.timer) clearTimeout(e.timer);
    e.timer = null;
    if (!idle(e)) return;
    const seconds = e.keepAlive ?? policy().keep_alive_seconds;
    if (seconds < 0) return;
    e.timer = setTimeout(() => {
      if (idle(e)) void unloadEntry(e, 'keep-alive expired');
    }, seconds * 1000);
    e.timer.unref();
  }

  async function unloadEntry(e: Entry, why: string, drain = false): Promise<void> {
    if (e.status === 'unloading') return;
    const host = e.host;
    e.status = 'unloading';
    if (e.timer) clearTimeout(e.timer);
    e.slots?.rejectWaiting(modelUnloading());
    if (drain && (e.slots?.active ?? 0) > 0) {
      await Promise.race([
        new Promise<void>((resolve) => {
          e.drained = resolve;
        }),
        new Promise((resolve) => setTimeout(resolve, DRAIN_MS).unref()),
      ]);
    }
    entries.delete(e.version.id);
    deps.log.info({ model: e.model.name, version: e.version.version, why }, 'unloading model');
    await host?.unload().catch((err) => deps.log.warn({ err }, 'unloading a model failed'));
    changed(e, 'unloaded');
  }

  /** Evicts least recently used idle versions until `need` fits; refuses when it cannot. */
  async function makeRoom(target: VersionRow, need: number) {
    const p = policy();
    const others = () => live().filter((e) => e.version.id !== target.id);
    if (p.single_model_mode) {
      await Promise.all(others().map((e) => unloadEntry(e, 'single-model mode', true)));
      return;
    }
    const lru = () =>
      others()
        .filter(idle)
        .sort((a, b) => a.lastUsed - b.lastUsed);
    if (p.max_loaded_models > 0) {
      while (others().length >= p.max_loaded_models) {
        const victim = lru()[0];
        if (!victim) throw runtimeCapacity(`${p.max_loaded_models} models are loaded and all are busy`);
        await unloadEntry(victim, 'max loaded models reached');
      }
    }
    if (p.memory_budget_mb > 0) {
      const budget = p.memory_budget_mb * MB;
      if (need > budget) throw memoryBudgetExceeded(Math.ceil(need / MB), p.memory_budget_mb);
      const used = () => others().reduce((s, e) => s + e.memory, 0);
      while (used() + need > budget) {
        const victim = lru()[0];
        if (!victim) throw runtimeCapacity('the memory budget is taken by models that are busy');
        await unloadEntry(victim, 'memory budget');
      }
    }
  }

  async function loadEntry(model: ModelRow, version: VersionRow, opts: LoadOptions): Promise<Entry> {
    const runtime = deps.runtimes.forFormat(version.format);
    if (!runtime) throw notServable(version.format, version.version);
    const files = (await deps.repo.filesOf([version.id])).sort((a, b) => a.path.localeCompare(b.path));
    const estimate = files.reduce((s, f) => s + f.size, 0) + HOST_OVERHEAD;
    return serially(async () => {
      const existing = entries.get(version.id);
      if (existing && existing.status !== 'error') return existing;
      await makeRoom(version, estimate);
      const p = policy();
      const e: Entry = {
        model,
        version,
        runtime: runtime.name,
        status: 'loading',
        host: null,
        ready: Promise.resolve(null as unknown as HostedModel),
        error: null,
        loadedAt: null,
        lastUsed: now(),
        keepAlive: opts.keepAlive,
        config: opts.config ?? {},
        allowRetired: opts.allowRetired ?? false,
        memory: estimate,
        slots: null,
        timer: null,
        drained: null,
      };
      e.ready = (async () => {
        const dir = await materializeVersion(deps.store, deps.cacheDir, version.id, files);
        return start({
          module: runtime.module,
          spec: {
            dir,
            files: files.map((f) => ({ path: f.path, size: f.size, format: formatOf(f.path) })),
            format: version.format,
            task: model.task,
            config: e.config,
          },
          log: deps.log.child({ model: model.name, version: version.version }),
          loadTimeoutMs: p.load_timeout_seconds * 1000,
        });
      })();
      entries.set(version.id, e);
      changed(e, 'loading');
      e.ready.then(
        (host) => {
          if (entries.get(version.id) !== e) {
            void host.unload(); // unloaded while it was loading
            return;
          }
          e.host = host;
          e.status = 'loaded';
          e.loadedAt = new Date(now());
          e.memory = host.loadRss;
          e.slots = createSlots(host.capabilities.parallel, policy().queue_size);
          host.onCrash((reason) => {
            if (entries.get(version.id) !== e) return;
            e.status = 'error';
            e.error = `the runtime process stopped (${reason})`;
            e.host = null;
            e.slots?.rejectWaiting(modelInError(e.error));
            deps.log.error({ model: model.name, version: version.version, reason }, 'model runtime crashed');
            changed(e, 'error');
          });
          changed(e, 'loaded');
          scheduleKeepAlive(e);
        },
        (err: Error) => {
          if (entries.get(version.id) !== e) return;
          e.status = 'error';
          e.error = err.message;
          deps.log.warn({ model: model.name, version: version.version, err }, 'loading a model failed');
          changed(e, 'error');
        },
      );
      return e;
    });
  }

  const sameConfig = (e: Entry, opts: LoadOptions) =>
    opts.config === undefined || JSON.stringify(opts.config) === JSON.stringify(e.config);

  return {
    /** Loads a version (or finds it loaded) and waits until it serves; a new config reloads it. */
    async load(model: ModelRow, version: VersionRow, opts: LoadOptions = {}): Promise<Entry> {
      let e = entries.get(version.id);
      if (e && e.status !== 'error' && !sameConfig(e, opts)) {
        await unloadEntry(e, 'reloading with a new config', true);
        e = undefined;
      }
      if (!e || e.status === 'error' || e.status === 'unloading') e = await loadEntry(model, version, opts);
      await e.ready;
      if (opts.keepAlive !== undefined) e.keepAlive = opts.keepAlive;
      if (opts.allowRetired) e.allowRetired = true;
      e.lastUsed = now();
      scheduleKeepAlive(e);
      return e;
    },

    /** Unloads every loaded version of a model (or one); answers how many. */
    async unload(modelId: string, version?: number): Promise<number> {
      const mine = [...entries.values()].filter(
        (e) => e.model.id === modelId && (version === undefined || e.version.version === version),
      );
      await Promise.all(mine.map((e) => (e.status === 'error' ? drop(e) : unloadEntry(e, 'asked to', true))));
      return mine.length;
    },

    /** A slot on a loaded version, loading it first when the policy allows. */
    async lease(model: ModelRow, version: VersionRow, signal: AbortSignal): Promise<Lease> {
      let e = entries.get(version.id);
      if (!e || e.status === 'error') {
        if (!policy().auto_load) throw e?.error ? modelInError(e.error) : modelNotLoaded(model.name);
        e = await loadEntry(model, version, {});
      }
      const host = await e.ready;
      if (e.status === 'unloading') throw modelUnloading();
      if (e.status === 'error' || !e.slots) throw modelInError(e.error ?? 'unknown');
      const release = await e.slots.acquire(signal, policy().queue_timeout_seconds * 1000);
      const entry = e;
      entry.lastUsed = now();
      if (entry.timer) clearTimeout(entry.timer);
      return {
        host,
        entry,
        release() {
          release();
          entry.lastUsed = now();
          if ((entry.slots?.active ?? 0) === 0) entry.drained?.();
          scheduleKeepAlive(entry);
        },
      };
    },

    /** Whether a retired version was loaded on purpose (so requests may use it). */
    allowsRetired: (versionId: string) => entries.get(versionId)?.allowRetired ?? false,

    entries: (): readonly Entry[] => [...entries.values()],

    /** The model's runtime status for registry views, or null when nothing of it is loaded. */
    statusOf(modelId: string): 'loaded' | 'loading' | 'error' | null {
      const mine = [...entries.values()].filter((e) => e.model.id === modelId);
      if (mine.some((e) => e.status === 'loaded' || e.status === 'unloading')) return 'loaded';
      if (mine.some((e) => e.status === 'loading')) return 'loading';
      return mine.length ? 'error' : null;
    },

    /** Refreshes each loaded version's memory from its host (bounded wait). */
    async refreshMemory() {
      await Promise.all(
        live().map(async (e) => {
          if (e.status !== 'loaded' || !e.host) return;
          const rss = await Promise.race([
            e.host.memory().catch(() => null),
            new Promise<null>((r) => setTimeout(() => r(null), 1000).unref()),
          ]);
          if (rss) e.memory = rss;
        }),
      );
    },

    /** Requests running or waiting, over all models. */
    busy: () => live().reduce((n, e) => n + (e.slots?.active ?? 0) + (e.slots?.queued ?? 0), 0),

    /** Removes the laid-out files of every version that is not loaded; answers the bytes freed. */
    async clearCache(): Promise<number> {
      const keep = new Set([...entries.keys()]);
      return removeCacheDirs(deps.cacheDir, keep);
    },

    async close() {
      await Promise.all([...entries.values()].map((e) => unloadEntry(e, 'node stopping')));
    },
  };

  async function drop(e: Entry) {
    entries.delete(e.version.id);
    changed(e, 'unloaded');
  }
}

export type ModelManager = ReturnType<typeof createModelManager>;

const formatOf = (path: string) => /\.([a-z0-9]+)$/i.exec(path)?.[1]?.toLowerCase() ?? '';
