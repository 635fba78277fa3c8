/**
 * How workers hear that a job may be claimed. The database stays the source of truth (a worker
 * claims from it with SKIP LOCKED and polls it now and then); a dispatch only wakes workers early.
 * This in-process one serves the embedded and single-server modes; a BullMQ adapter implements the
 * same interface for workers on other machines.
 */
export interface JobDispatch {
  /** The job can be claimed from `at` on (now when absent, later for a retry's backoff). */
  announce(jobId: string, at?: Date): void;
  /** Called whenever some job may have become claimable; answers an unsubscribe. */
  onReady(listener: () => void): () => void;
  close(): void;
}

/** Wakes this process's workers at once, or when a delayed job becomes due. */
export function createLocalDispatch(now: () => Date = () => new Date()): JobDispatch {
  const listeners = new Set<() => void>();
  const timers = new Set<NodeJS.Timeout>();
  const fire = () => {
    for (const l of listeners) l();
  };
  return {
    announce(_jobId, at) {
      const delay = at ? at.getTime() - now().getTime() : 0;
      if (delay <= 0) return void queueMicrotask(fire);
      // Capped so a far-off retry does not hold a timer for days; the pool's polling covers it.
      const t = setTimeout(
        () => {
          timers.delete(t);
          fire();
        },
        Math.min(delay + 5, 3_600_000),
      );
      t.unref();
      timers.add(t);
    },
    onReady(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      listeners.clear();
    },
  };
}
