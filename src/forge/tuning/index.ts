import type { FastifyPluginAsync } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from '../../core/registry/index.js';
import type { AuditService } from '../../hub/audit/service.js';
import type { SettingsService } from '../../hub/settings/service.js';
import { createUserRepository } from '../../hub/users/repository.js';
import type { Db } from '../../platform/db/client.js';
import type { EventBus } from '../../platform/events/bus.js';
import { startPeriodic } from '../../platform/periodic.js';
import type { Experiments } from '../experiments/index.js';
import { createJobEvents } from '../jobs/events.js';
import type { Training } from '../jobs/index.js';
import type { DatasetFiles, StepChecker } from '../jobs/ports.js';
import { createJobRegistration } from '../jobs/register.js';
import { workerSettings } from '../workers/settings.js';
import { createTuningRepository } from './repository.js';
import { tuningRoutes } from './routes.js';
import { createSearchRunner } from './runner.js';
import { createTuningService } from './service.js';

/** How often every node looks at unfinished searches (events it missed: a restart, another node). */
const RECONCILE_MS = 5000;

/** Job events after which a search may move on: one of its trials ended, or its parent was cancelled. */
const ENDINGS = new Set(['job.succeeded', 'job.failed', 'job.cancelled']);

/**
 * Hyperparameter searches over training jobs. A search is a parent job whose state follows its
 * trials, each a normal training job (registering nothing) and a run of the search's experiment;
 * the search moves on when a trial's job ends (job events on the bus) and, to catch up on whatever
 * it missed, every few seconds.
 */
export function createTuning(deps: {
  db: Db;
  bus: EventBus;
  audit: AuditService;
  log: Logger;
  registry: Registry;
  training: Training;
  experiments: Experiments;
  datasets: DatasetFiles;
  checkSteps: StepChecker;
  settings: Pick<SettingsService, 'get'>;
  now?: (() => Date) | undefined;
}) {
  const now = deps.now ?? (() => new Date());
  const repo = createTuningRepository(deps.db);
  const events = createJobEvents(deps.bus, deps.log);
  const runner = createSearchRunner({
    repo,
    jobs: deps.training.repo,
    training: deps.training.service,
    registration: createJobRegistration(deps.registry),
    experiments: deps.experiments.service,
    events,
    users: createUserRepository(deps.db),
    outputsDir: deps.training.outputsDir,
    log: deps.log,
    now,
  });
  const service = createTuningService({
    repo,
    jobs: deps.training.repo,
    training: deps.training.service,
    runner,
    datasets: deps.datasets,
    checkSteps: deps.checkSteps,
    experiments: {
      recordJob: deps.experiments.recordJob,
      annotateJob: deps.experiments.service.annotateJob,
      runIdsOfJobs: deps.experiments.service.runIdsOfJobs,
    },
    events,
    audit: deps.audit,
    settings: () => deps.settings.get(workerSettings),
    now,
  });

  const advance = (id: string) =>
    runner
      .advance(id)
      .catch((err) => deps.log.warn({ err, searchId: id }, 'hyperparameter search not advanced'));
  /** A job event concerns a search when the job is one of its trials, or is the search itself. */
  const onJobEnded = async (jobId: string, type: string) => {
    const trial = await repo.trialOfJob(jobId);
    if (trial) return advance(trial.searchId);
    if (type === 'job.cancelled' && (await repo.search(jobId))) return advance(jobId);
  };
  let unsubscribe: (() => void) | undefined;
  let stopPeriodic: (() => Promise<void>) | undefined;
  const pending = new Set<Promise<unknown>>();
  const track = (p: Promise<unknown>) => {
    pending.add(p);
    void p.finally(() => pending.delete(p));
  };

  const routes: FastifyPluginAsync = async (api) => {
    await api.register(tuningRoutes, { tuning: service });
  };
  return {
    service,
    runner,
    routes,
    /** Follows job events and starts the periodic pass (on app ready, with the worker pool). */
    start() {
      unsubscribe ??= deps.bus.subscribe((e) => {
        const jobId = (e.data as { job_id?: unknown }).job_id;
        if (e.topic !== 'training' || !ENDINGS.has(e.type) || typeof jobId !== 'string') return;
        track(
          onJobEnded(jobId, e.type).catch((err) => deps.log.warn({ err, jobId }, 'search event not handled')),
        );
      });
      stopPeriodic ??= startPeriodic({
        name: 'hyperparameter searches',
        everyMs: RECONCILE_MS,
        log: deps.log,
        run: async () => {
          for (const s of await repo.unfinished()) await advance(s.jobId);
        },
      });
    },
    async close() {
      unsubscribe?.();
      await stopPeriodic?.();
      while (pending.size > 0) await Promise.all(pending);
      await runner.idle();
    },
  };
}
export type Tuning = ReturnType<typeof createTuning>;
