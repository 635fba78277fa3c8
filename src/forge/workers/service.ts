import type { RequestContext } from '../../hub/auth/principal.js';
import { ConflictError, NotFoundError } from '../../platform/errors.js';
import type { JobRepository } from '../jobs/repository.js';
import type { LocalWorker, WorkerPool } from './pool.js';
import type { WorkerRepository, WorkerRow } from './repository.js';
import type { TrainingWorkerView, WorkerList } from './schema.js';
import { leaseTiming, type WorkerSettings } from './settings.js';

const workerNotFound = () => new NotFoundError('Worker', 'worker_not_found');
const isAdmin = (ctx: RequestContext) => ctx.principal?.role === 'admin';

/**
 * The training workers of every node as the database knows them, and the commands that change this
 * node's pool. A worker of another node is listed but answers 409 worker_not_local to commands: its
 * pool lives in that process.
 */
export function createWorkerService(deps: {
  pool: WorkerPool;
  workers: WorkerRepository;
  jobs: Pick<JobRepository, 'get'>;
  settings: () => WorkerSettings;
  now: () => Date;
}) {
  /** Job ids are shown only to whoever may see the job. */
  const visibleJob = async (ctx: RequestContext, jobId: string | null) => {
    if (!jobId || isAdmin(ctx)) return jobId;
    const job = await deps.jobs.get(jobId);
    return job?.ownerId === ctx.principal?.userId ? jobId : null;
  };
  const fromRow = async (ctx: RequestContext, r: WorkerRow): Promise<TrainingWorkerView> => {
    const local = deps.pool.list().find((w) => w.id === r.id);
    return local
      ? fromLocal(ctx, local)
      : {
          id: r.id,
          host: r.host,
          pid: r.pid,
          state: r.state,
          current_job_id: await visibleJob(ctx, r.currentJobId),
          heartbeat_at: r.heartbeatAt.toISOString(),
          started_at: r.startedAt.toISOString(),
          local: false,
        };
  };
  // This node's own workers are described from memory: their rows are written asynchronously.
  const fromLocal = async (ctx: RequestContext, w: LocalWorker): Promise<TrainingWorkerView> => ({
    id: w.id,
    host: deps.pool.host,
    pid: process.pid,
    state: w.state,
    current_job_id: await visibleJob(ctx, w.jobId),
    heartbeat_at: deps.now().toISOString(),
    started_at: w.startedAt.toISOString(),
    local: true,
  });

  const command = async (
    ctx: RequestContext,
    id: string,
    act: (id: string) => LocalWorker | undefined,
  ): Promise<TrainingWorkerView> => {
    const w = act(id);
    if (w) return fromLocal(ctx, w);
    const row = await deps.workers.get(id);
    if (!row) throw workerNotFound();
    throw new ConflictError(
      `Worker ${id} runs on ${row.host} (pid ${row.pid}); send the request to that node`,
      'worker_not_local',
    );
  };

  return {
    async list(ctx: RequestContext): Promise<WorkerList> {
      const { leaseMs } = leaseTiming(deps.settings());
      // A worker silent for a whole lease is gone; its row is pruned later.
      const rows = await deps.workers.alive(new Date(deps.now().getTime() - leaseMs));
      const seen = new Set(rows.map((r) => r.id));
      const items = await Promise.all(rows.map((r) => fromRow(ctx, r)));
      // Workers started a moment ago may not have their row yet.
      for (const w of deps.pool.list()) if (!seen.has(w.id)) items.push(await fromLocal(ctx, w));
      return { items, next_cursor: null };
    },
    async scale(ctx: RequestContext, count: number): Promise<WorkerList> {
      const local = deps.pool.scale(count);
      return { items: await Promise.all(local.map((w) => fromLocal(ctx, w))), next_cursor: null };
    },
    drain: (ctx: RequestContext, id: string) => command(ctx, id, (x) => deps.pool.drain(x)),
    stop: (ctx: RequestContext, id: string) => command(ctx, id, (x) => deps.pool.stopWorker(x)),
    start: (ctx: RequestContext, id: string) => command(ctx, id, (x) => deps.pool.startWorker(x)),
  };
}
export type WorkerService = ReturnType<typeof createWorkerService>;
