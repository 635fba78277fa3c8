import { join } from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from '../../core/registry/index.js';
import type { AuditService } from '../../hub/audit/service.js';
import type { SettingsService } from '../../hub/settings/service.js';
import { createUserRepository } from '../../hub/users/repository.js';
import type { Db } from '../../platform/db/client.js';
import type { EventBus } from '../../platform/events/bus.js';
import { byTrainerSpec } from '../trainers/by-spec.js';
import type { TrainerHooks } from '../trainers/index.js';
import { createLocalDispatch, type JobDispatch } from '../workers/dispatch.js';
import { createWorkerPool } from '../workers/pool.js';
import { createWorkerRepository } from '../workers/repository.js';
import { workerRoutes } from '../workers/routes.js';
import { runJob } from '../workers/run-job.js';
import { createWorkerService } from '../workers/service.js';
import { leaseTiming, workerSettings } from '../workers/settings.js';
import { createSweeper } from '../workers/sweeper.js';
import { createJobEvents } from './events.js';
import type { DatasetFiles, StepChecker } from './ports.js';
import { createJobRegistration } from './register.js';
import { createJobRepository, type JobRow } from './repository.js';
import { trainingRoutes } from './routes.js';
import { createTrainingService } from './service.js';

/** Settings sections of training; the settings service must know them before it loads. */
export const TRAINING_SECTIONS = [workerSettings];

/** The trainer child processes run unless a test names another: the tabular pipeline trainer. */
export const TABULAR_TRAINER = new URL(
  import.meta.url.endsWith('.ts') ? './tabular-trainer.ts' : './tabular-trainer.js',
  import.meta.url,
).href;

export interface TrainingDeps {
  db: Db;
  registry: Registry;
  audit: AuditService;
  bus: EventBus;
  settings: Pick<SettingsService, 'get' | 'onChange'>;
  log: Logger;
  dataDir: string;
  datasets: DatasetFiles;
  checkSteps: StepChecker;
  /** URL of the trainer module (tests run a scripted one). */
  trainer?: string | undefined;
  /** Another dispatch than the in-process one (a BullMQ adapter). */
  dispatch?: JobDispatch | undefined;
  /** External trainers that specs may name instead of pipeline steps. */
  trainers?: TrainerHooks | undefined;
  now?: (() => Date) | undefined;
  /** How often idle workers poll the database (tests shorten it). */
  pollMs?: number | undefined;
  /** Tests learn trainer pids this way. */
  onSpawn?: ((jobId: string, pid: number) => void) | undefined;
  /** Called with each new job before it is announced (forge/experiments makes it a run). */
  onDispatched?: ((row: JobRow) => Promise<void>) | undefined;
}

/**
 * Training jobs and the in-process worker pool: the service and routes behind /training and
 * /workers, and the pool that runs jobs, started when the app is ready and stopped when it closes.
 */
export function createTraining(deps: TrainingDeps) {
  const now = deps.now ?? (() => new Date());
  const repo = createJobRepository(deps.db);
  const workersRepo = createWorkerRepository(deps.db);
  const events = createJobEvents(deps.bus, deps.log);
  const dispatch = deps.dispatch ?? createLocalDispatch(now);
  const settings = () => deps.settings.get(workerSettings);
  const policy = () => {
    const s = settings();
    return { baseSeconds: s.backoff_base_seconds, capSeconds: s.backoff_max_seconds };
  };
  const timing = () => leaseTiming(settings());
  const { checkSteps, registration, execute } = byTrainerSpec(deps.trainers, {
    checkSteps: deps.checkSteps,
    registration: createJobRegistration(deps.registry),
  });
  const sweeper = createSweeper({ repo, events, dispatch, now, policy });
  const runDeps = {
    repo,
    events,
    dispatch,
    registration,
    datasets: deps.datasets,
    users: createUserRepository(deps.db),
    log: deps.log,
    now,
    outputsDir: join(deps.dataDir, 'forge', 'jobs'),
    trainer: deps.trainer ?? TABULAR_TRAINER,
    timing,
    policy,
    onSpawn: deps.onSpawn,
    execute,
  };
  const pool = createWorkerPool({
    repo,
    workers: workersRepo,
    events,
    dispatch,
    bus: deps.bus,
    sweeper,
    run: (row, workerId, stop) => runJob(runDeps, row, workerId, stop),
    settings,
    log: deps.log,
    now,
    ...(deps.pollMs ? { pollMs: deps.pollMs } : {}),
  });
  const service = createTrainingService({
    repo,
    events,
    dispatch,
    audit: deps.audit,
    datasets: deps.datasets,
    registry: deps.registry,
    checkSteps,
    settings,
    now,
    onDispatched: deps.onDispatched,
  });
  const workers = createWorkerService({ pool, workers: workersRepo, jobs: repo, settings, now });
  const routes: FastifyPluginAsync = async (api) => {
    await api.register(trainingRoutes, { training: service });
    await api.register(workerRoutes, { workers });
  };
  let unwatch: (() => void) | undefined;
  return {
    service,
    workers,
    pool,
    sweeper,
    repo,
    routes,
    /** Where each job's outputs live (<dir>/<job_id>/) until registered; register: false keeps them. */
    outputsDir: runDeps.outputsDir,
    /** Starts the pool (on app ready); a saved forge/workers.count resizes it at once. */
    start() {
      pool.start();
      unwatch ??= deps.settings.onChange(workerSettings, (v, prev) => {
        if (v.count !== prev.count) pool.scale(v.count);
      });
    },
    /** Stops the pool; running jobs go back to the queue for the next start. */
    async close() {
      unwatch?.();
      await pool.close();
      dispatch.close();
    },
  };
}
export type Training = ReturnType<typeof createTraining>;
