/**
 * Seams through which other domains take part in admin operations without the Hub knowing them:
 * Core registers a `clean_models` task (unreferenced blobs), reports the loaded model, and says when
 * the node is busy serving; Forge can do the same for its caches and running jobs.
 */
export const CLEANUP_OPERATIONS = ['clean_logs', 'clean_cache', 'clean_models', 'clean_temp'] as const;
export type CleanupOperation = (typeof CLEANUP_OPERATIONS)[number];

export interface CleanupTask {
  name: string;
  /** Frees what it owns; answers the bytes freed. */
  run(): Promise<{ bytesFreed: number }>;
}

/** Answers why the node is busy (e.g. "2 generations in progress"), or null when it is not. */
export type BusyCheck = () => Promise<string | null> | string | null;

export interface ModelStatus {
  loaded_model: string | null;
  model_memory_usage: number;
}

export interface MaintenanceHooks {
  addCleanupTask(operation: CleanupOperation, task: CleanupTask): void;
  addBusyCheck(name: string, check: BusyCheck): void;
  setModelStatusSource(source: () => Promise<ModelStatus> | ModelStatus): void;
  tasksFor(operation: CleanupOperation): readonly CleanupTask[];
  /** The reasons the node is busy now; empty when idle. */
  busyReasons(): Promise<string[]>;
  modelStatus(): Promise<ModelStatus>;
}

export function createMaintenanceHooks(): MaintenanceHooks {
  const tasks = new Map<CleanupOperation, CleanupTask[]>();
  const busy = new Map<string, BusyCheck>();
  let modelSource: () => Promise<ModelStatus> | ModelStatus = () => ({
    loaded_model: null,
    model_memory_usage: 0,
  });
  return {
    addCleanupTask(operation, task) {
      const list = tasks.get(operation) ?? [];
      if (list.some((t) => t.name === task.name))
        throw new Error(`cleanup task "${task.name}" is already registered for ${operation}`);
      tasks.set(operation, [...list, task]);
    },
    addBusyCheck(name, check) {
      if (busy.has(name)) throw new Error(`busy check "${name}" is already registered`);
      busy.set(name, check);
    },
    setModelStatusSource(source) {
      modelSource = source;
    },
    tasksFor: (operation) => tasks.get(operation) ?? [],
    async busyReasons() {
      const answers = await Promise.all(
        [...busy].map(async ([name, check]) => {
          const reason = await check();
          return reason ? `${name}: ${reason}` : null;
        }),
      );
      return answers.filter((r): r is string => r !== null);
    },
    async modelStatus() {
      return modelSource();
    },
  };
}
