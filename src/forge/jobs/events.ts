import type { Logger } from 'pino';
import type { EventBus } from '../../platform/events/bus.js';
import type { JobRow, LogRow } from './repository.js';
import { toLogLine, toTrainingJob } from './schema.js';

/** Internal signal that asks whichever node runs a job to stop it now (a cancel from another node). */
export const STOP_JOB_SIGNAL = 'training.stop_job';

/** Log lines carried by one event; a burst beyond it is read from the API. */
const EVENT_LINES = 200;

export type JobEventType =
  | 'job.queued'
  | 'job.running'
  | 'job.progress'
  | 'job.retrying'
  | 'job.succeeded'
  | 'job.failed'
  | 'job.cancelled';

/**
 * Job events on the `training` topic, each visible to the job's owner (and admins). Progress is
 * announced at most every second per job by the worker; log lines go out in the same batches in
 * which they are stored, with their ids, so a client can resume reading at `/logs?after=`.
 */
export function createJobEvents(bus: EventBus, log: Logger) {
  const send = (topic: string, type: string, data: Record<string, unknown>, userId: string | null) =>
    bus.publish({ topic, type, data, userId }).catch((err) => log.warn({ err, type }, 'training event lost'));
  return {
    async job(row: JobRow, type: JobEventType): Promise<void> {
      await send('training', type, toTrainingJob(row), row.ownerId);
    },
    /** At most EVENT_LINES lines per event; `more` counts the rest, which /logs?after= serves. */
    async logs(row: Pick<JobRow, 'id' | 'ownerId'>, lines: LogRow[]): Promise<void> {
      if (lines.length === 0) return;
      const shown = lines.slice(0, EVENT_LINES).map(toLogLine);
      await send(
        'training',
        'job.logs',
        { job_id: row.id, lines: shown, more: lines.length - shown.length },
        row.ownerId,
      );
    },
    async metrics(
      row: Pick<JobRow, 'id' | 'ownerId'>,
      attempt: number,
      points: { name: string; step: number; value: number }[],
    ): Promise<void> {
      if (points.length === 0) return;
      await send('training', 'job.metrics', { job_id: row.id, attempt, points }, row.ownerId);
    },
    /** Reaches every node's pool (through the event fan-out); never stored nor shown to clients. */
    async stopJob(jobId: string): Promise<void> {
      await send('internal', STOP_JOB_SIGNAL, { job_id: jobId }, null);
    },
  };
}
export type JobEvents = ReturnType<typeof createJobEvents>;
