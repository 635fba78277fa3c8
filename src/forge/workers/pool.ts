import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { EventBus } from '../../platform/events/bus.js';
import { startPeriodic } from '../../platform/periodic.js';
import { type JobEvents, STOP_JOB_SIGNAL } from '../jobs/events.js';
import type { JobRepository, JobRow } from '../jobs/repository.js';
import type { WorkerState } from '../jobs/tables.js';
import type { JobDispatch } from './dispatch.js';
import type { WorkerRepository } from './repository.js';
import type { StopReason } from './run-job.js';
import { leaseTiming, type WorkerSettings } from './settings.js';
import type { Sweeper } from './sweeper.js';

export interface PoolDeps {
  repo: JobRepository;
  workers: WorkerRepository;
  events: JobEvents;
  dispatch: JobDispatch;
  bus: EventBus;
  sweeper: Sweeper;
  /** Runs one claimed attempt to its end; `stop` aborts it with a StopReason. */
  run(row: JobRow, workerId: string, stop: AbortSignal): Promise<void>;
  settings: () => WorkerSettings;
  log: Logger;
  now: () => Date;
  /** How often an idle worker looks for work it was not told about (other nodes, missed signals). */
  pollMs?: number;
}

export interface LocalWorker {
  id: string;
  state: WorkerState;
  jobId: string | null;
  startedAt: Date;
}

interface Worker extends LocalWorker {
  stop: AbortController | null;
  /** Finishes its job, then stops (drain), or then leaves the pool (scaled down). */
  draining: boolean;
  retiring: boolean;
  removed: boolean;
  wake: () => void;
  loop: Promise<void>;
  writes: Promise<unknown>;
}

/**
 * This node's training workers. Each worker claims one job at a time from the database and runs it
 * (its trainer in a child process); the pool changes size, drains and stops workers at run time,
 * sweeps expired leases and timeouts, and keeps the `training_workers` rows up to date.
 */
export function createWorkerPool(deps: PoolDeps) {
  const host = hostname();
  // Worker ids are unique across nodes and restarts; they appear in leases and in URLs.
  const tag = randomBytes(3).toString('hex');
  const pollMs = deps.pollMs ?? 2000;
  const workers = new Map<string, Worker>();
  let seq = 0;
  let started = false;
  let closing = false;
  const cleanups: (() => unknown)[] = [];

  const persist = (w: Worker) => {
    const row = {
      id: w.id,
      host,
      pid: process.pid,
      // Other nodes see a worker only through this row: a draining one must not look merely busy.
      state: w.draining && w.state === 'busy' ? 'draining' : w.state,
      currentJobId: w.jobId,
      startedAt: w.startedAt,
      heartbeatAt: deps.now(),
    };
    w.writes = w.writes
      .then(() => (w.removed ? deps.workers.remove([w.id]) : deps.workers.upsert(row)))
      .catch((err) => deps.log.warn({ err, workerId: w.id }, 'worker row not saved'));
    return w.writes;
  };
  const setState = (w: Worker, state: WorkerState, jobId: string | null = w.jobId) => {
    w.state = state;
    w.jobId = jobId;
    void persist(w);
  };

  const idleWait = (w: Worker, ms: number) =>
    new Promise<void>((resolve) => {
      const t = Number.isFinite(ms) ? setTimeout(done, ms) : undefined;
      t?.unref();
      function done() {
        if (t) clearTimeout(t);
        w.wake = () => {};
        resolve();
      }
      w.wake = done;
    });

  // Read through a function: other calls change a worker's state while its loop awaits.
  const isStopped = (w: Worker) => w.state === 'stopped';

  async function loop(w: Worker): Promise<void> {
    while (!closing && !w.removed) {
      if (w.state === 'stopped') {
        await idleWait(w, Number.POSITIVE_INFINITY);
        continue;
      }
      let row: JobRow | undefined;
      try {
        row = await deps.repo.claim(w.id, deps.now(), leaseTiming(deps.settings()).leaseMs);
      } catch (err) {
        deps.log.warn({ err, workerId: w.id }, 'could not claim a training job');
      }
      if (!row) {
        await idleWait(w, pollMs);
        continue;
      }
      // Stopped, removed or shut down while claiming: the job goes back at once, attempt returned.
      if (closing || w.removed || isStopped(w)) {
        const back = await deps.repo.release(row.id, w.id, deps.now()).catch(() => undefined);
        if (back) deps.dispatch.announce(back.id);
        continue;
      }
      w.stop = new AbortController();
      setState(w, 'busy', row.id);
      await deps.events.job(row, 'job.running');
      try {
        await deps.run(row, w.id, w.stop.signal);
      } catch (err) {
        deps.log.error({ err, workerId: w.id, jobId: row.id }, 'training worker failed');
      }
      w.stop = null;
      if (w.retiring) {
        w.removed = true;
        workers.delete(w.id);
        void persist(w);
        break;
      }
      if (w.draining || isStopped(w)) {
        w.draining = false;
        setState(w, 'stopped', null);
      } else setState(w, 'idle', null);
    }
  }

  const add = () => {
    const w: Worker = {
      id: `${host.slice(0, 40)}-${tag}-${++seq}`,
      state: 'idle',
      jobId: null,
      startedAt: deps.now(),
      stop: null,
      draining: false,
      retiring: false,
      removed: false,
      wake: () => {},
      loop: Promise.resolve(),
      writes: Promise.resolve(),
    };
    workers.set(w.id, w);
    void persist(w);
    w.loop = loop(w).catch((err) => deps.log.error({ err, workerId: w.id }, 'training worker loop ended'));
    return w;
  };

  const wakeIdle = () => {
    for (const w of workers.values()) if (w.state === 'idle') w.wake();
  };

  const view = (w: Worker): LocalWorker => ({
    id: w.id,
    state: w.draining && w.state === 'busy' ? 'draining' : w.state,
    jobId: w.jobId,
    startedAt: w.startedAt,
  });

  const pool = {
    host,
    get started() {
      return started;
    },
    /** Starts `settings.count` workers, the sweeper and the worker heartbeat. */
    start() {
      if (started || closing) return;
      started = true;
      cleanups.push(deps.dispatch.onReady(wakeIdle));
      cleanups.push(
        deps.bus.subscribe((e) => {
          // A cancel or a timeout decided on any node stops the trainer wherever it runs.
          if (e.topic === 'internal' && e.type === STOP_JOB_SIGNAL) {
            const id = (e.data as { job_id?: unknown }).job_id;
            if (typeof id === 'string') pool.stopJob(id, 'cancel');
          }
          // Jobs dispatched on other nodes wake this node's idle workers too.
          if (e.topic === 'training' && (e.type === 'job.queued' || e.type === 'job.retrying')) wakeIdle();
        }),
      );
      const timing = leaseTiming(deps.settings());
      cleanups.push(
        startPeriodic({
          name: 'training lease sweep',
          everyMs: timing.heartbeatMs,
          log: deps.log,
          run: async () => {
            const now = deps.now();
            await deps.workers.heartbeat([...workers.keys()], now);
            const swept = await deps.sweeper.sweep();
            if (swept.requeued + swept.failed + swept.timedOut > 0) {
              deps.log.info(swept, 'training jobs swept');
              wakeIdle();
            }
            const { leaseMs } = leaseTiming(deps.settings());
            await deps.workers.prune(new Date(now.getTime() - Math.max(3 * leaseMs, 60_000)));
          },
        }),
      );
      pool.scale(deps.settings().count);
    },

    list(): LocalWorker[] {
      return [...workers.values()].map(view);
    },
    has(id: string) {
      return workers.has(id);
    },

    /**
     * Sets how many workers stay in the pool. Going down removes stopped workers first, then idle
     * ones, then lets busy ones finish their job before they leave.
     */
    scale(count: number): LocalWorker[] {
      if (closing) return pool.list();
      const staying = [...workers.values()].filter((w) => !w.retiring);
      let excess = staying.length - count;
      for (const state of ['stopped', 'idle', 'busy'] as const) {
        for (const w of staying) {
          if (excess <= 0) break;
          if (w.state !== state) continue;
          excess--;
          if (state === 'busy') {
            w.retiring = true;
            w.draining = true;
            void persist(w);
          } else {
            w.removed = true;
            workers.delete(w.id);
            void persist(w);
            w.wake();
          }
        }
      }
      for (let i = 0; i < -excess; i++) add();
      return pool.list();
    },

    /** The worker finishes its current job and takes no new one; idle, it stops at once. */
    drain(id: string): LocalWorker | undefined {
      const w = workers.get(id);
      if (!w) return undefined;
      if (w.state === 'busy') {
        w.draining = true;
        void persist(w);
      } else if (w.state === 'idle') setState(w, 'stopped');
      return view(w);
    },

    /** Stops the worker now: its job (if any) goes back to the queue with its attempt returned. */
    stopWorker(id: string): LocalWorker | undefined {
      const w = workers.get(id);
      if (!w) return undefined;
      w.draining = false;
      const busy = w.state === 'busy';
      setState(w, 'stopped');
      // Its job goes back to the queue; the worker shows the job id until then.
      if (busy) w.stop?.abort('release' satisfies StopReason);
      return view(w);
    },

    /** A stopped or draining worker takes jobs again. */
    startWorker(id: string): LocalWorker | undefined {
      const w = workers.get(id);
      if (!w) return undefined;
      w.draining = false;
      w.retiring = false;
      if (w.state === 'stopped') {
        setState(w, 'idle');
        w.wake();
      } else void persist(w);
      return view(w);
    },

    /** Stops a job this node runs; false when it runs elsewhere or not at all. */
    stopJob(jobId: string, reason: StopReason): boolean {
      for (const w of workers.values()) {
        if (w.jobId === jobId && w.stop) {
          w.stop.abort(reason);
          return true;
        }
      }
      return false;
    },

    /**
     * Stops every worker. Running jobs go back to the queue with their attempt returned (their
     * trainers are killed), so the next start, here or on another node, runs them again.
     */
    async close() {
      if (closing) return;
      closing = true;
      for (const c of cleanups.splice(0)) await c();
      const all = [...workers.values()];
      for (const w of all) {
        w.stop?.abort('release' satisfies StopReason);
        w.wake();
      }
      await Promise.all(all.map((w) => w.loop));
      await Promise.all(all.map((w) => w.writes));
      await deps.workers.remove(all.map((w) => w.id)).catch(() => undefined);
      workers.clear();
    },
  };
  return pool;
}
export type WorkerPool = ReturnType<typeof createWorkerPool>;
