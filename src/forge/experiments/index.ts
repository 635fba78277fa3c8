import type { FastifyPluginAsync } from 'fastify';
import type { Logger } from 'pino';
import type { AuditService } from '../../hub/audit/service.js';
import type { Db } from '../../platform/db/client.js';
import type { EventBus } from '../../platform/events/bus.js';
import { createJobRepository, type JobRow } from '../jobs/repository.js';
import { createExperimentRepository } from './repository.js';
import { experimentRoutes } from './routes.js';
import { createExperimentService } from './service.js';

/** Job events after which a run may differ from its job. */
const JOB_CHANGES = new Set([
  'job.queued',
  'job.running',
  'job.retrying',
  'job.succeeded',
  'job.failed',
  'job.cancelled',
]);

/**
 * Experiments and runs. Every training job becomes a run when it is dispatched (the training
 * service calls `recordJob`), and its run follows the job through the job events on the bus, on
 * whichever node published them; the job row, re-read each time, decides what the run shows.
 */
export function createExperiments(deps: {
  db: Db;
  bus: EventBus;
  audit: AuditService;
  log: Logger;
  now?: (() => Date) | undefined;
}) {
  const now = deps.now ?? (() => new Date());
  const service = createExperimentService({
    repo: createExperimentRepository(deps.db),
    jobs: createJobRepository(deps.db),
    audit: deps.audit,
    now,
  });

  // One update at a time per job, in event order; the map also lets close() wait for them.
  const chains = new Map<string, Promise<void>>();
  const sync = (jobId: string): Promise<void> => {
    const next = (chains.get(jobId) ?? Promise.resolve())
      .then(() => service.syncJob(jobId))
      .then(
        () => undefined,
        (err) => deps.log.warn({ err, jobId }, 'experiment run not updated'),
      )
      .finally(() => {
        if (chains.get(jobId) === next) chains.delete(jobId);
      });
    chains.set(jobId, next);
    return next;
  };
  const unsubscribe = deps.bus.subscribe((e) => {
    const jobId = (e.data as { job_id?: unknown }).job_id;
    if (e.topic === 'training' && JOB_CHANGES.has(e.type) && typeof jobId === 'string') void sync(jobId);
  });

  const routes: FastifyPluginAsync = async (api) => {
    await api.register(experimentRoutes, { experiments: service });
  };
  return {
    service,
    routes,
    /**
     * The dispatch hook: the job is a run before its dispatch answers. A failure here must not fail
     * the dispatch (the job exists already); the job's next event creates the run instead.
     */
    async recordJob(row: JobRow): Promise<void> {
      try {
        await service.recordJob(row);
      } catch (err) {
        deps.log.warn({ err, jobId: row.id }, 'experiment run not recorded at dispatch');
      }
    },
    /** Brings a job's run up to date now (callers that changed a job row themselves). */
    sync,
    async close() {
      unsubscribe();
      while (chains.size > 0) await Promise.all(chains.values());
    },
  };
}
export type Experiments = ReturnType<typeof createExperiments>;
