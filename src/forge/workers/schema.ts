import { z } from 'zod';
import { WORKER_STATES } from '../jobs/tables.js';

export const workerParams = z.object({ worker_id: z.string().min(1).max(200) });
export const scaleBody = z.strictObject({
  /** Workers this node keeps; going down lets busy workers finish their job first. */
  count: z.number().int().min(0).max(64),
});

export const trainingWorker = z
  .object({
    id: z.string(),
    host: z.string(),
    pid: z.number(),
    state: z.enum(WORKER_STATES),
    /** The job it runs; shown to admins and to that job's owner only. */
    current_job_id: z.string().nullable(),
    heartbeat_at: z.string(),
    started_at: z.string(),
    /** True for the workers of the node that answered; only those take scale, drain, start and stop. */
    local: z.boolean(),
  })
  .meta({ id: 'TrainingWorker' });
export type TrainingWorkerView = z.infer<typeof trainingWorker>;

export const workerList = z
  .object({ items: z.array(trainingWorker), next_cursor: z.null() })
  .meta({ id: 'TrainingWorkers' });
export type WorkerList = z.infer<typeof workerList>;
