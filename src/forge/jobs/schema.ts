import { z } from 'zod';
import { pageQuery } from '../../platform/http/pagination.js';
import type { JobRow, LogRow, MetricRow } from './repository.js';
import { JOB_STATES } from './tables.js';

export const jobParams = z.object({ job_id: z.string().min(1).max(100) });

export const listJobsQuery = pageQuery.extend({
  state: z.enum(JOB_STATES).optional(),
  /** A user id; admins only (everyone else sees their own jobs). */
  owner: z.string().min(1).max(100).optional(),
});
export type ListJobsQuery = z.infer<typeof listJobsQuery>;

export const logsQuery = z.object({
  /** The id of the last line already seen; lines after it come back. */
  after: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(200),
});
export type LogsQuery = z.infer<typeof logsQuery>;

export const metricsQuery = z.object({
  /** An attempt number; the latest when absent. */
  attempt: z.coerce.number().int().min(1).optional(),
  name: z.string().min(1).max(200).optional(),
});
export type MetricsQuery = z.infer<typeof metricsQuery>;

const jobError = z.object({ code: z.string(), message: z.string(), transient: z.boolean() });

export const trainingJob = z
  .object({
    job_id: z.string(),
    name: z.string(),
    state: z.enum(JOB_STATES),
    message: z.string(),
    progress: z.number().describe('0–100 within the current attempt'),
    eta_seconds: z.number().nullable(),
    estimated_completion: z.string().nullable(),
    priority: z.number(),
    attempts: z.number(),
    max_attempts: z.number(),
    next_attempt_at: z.string().nullable(),
    timeout_seconds: z.number(),
    heartbeat_at: z.string().nullable(),
    worker_id: z.string().nullable(),
    error: jobError.nullable(),
    metrics: z.record(z.string(), z.unknown()),
    result: z.object({ model_id: z.string(), model_name: z.string(), version: z.number() }).nullable(),
    spec: z.record(z.string(), z.unknown()),
    owner_id: z.string(),
    created_at: z.string(),
    updated_at: z.string(),
    started_at: z.string().nullable(),
    finished_at: z.string().nullable(),
  })
  .meta({ id: 'TrainingJob' });
export type TrainingJob = z.infer<typeof trainingJob>;

export const jobLogLine = z.object({
  id: z.number(),
  attempt: z.number(),
  level: z.enum(['info', 'warn', 'error']),
  message: z.string(),
  at: z.string(),
});
export const jobLogsPage = z
  .object({ items: z.array(jobLogLine), next_after: z.number().nullable() })
  .meta({ id: 'TrainingJobLogs' });
export type JobLogsPage = z.infer<typeof jobLogsPage>;

export const jobMetrics = z
  .object({
    job_id: z.string(),
    attempt: z.number().nullable(),
    summary: z.record(z.string(), z.unknown()),
    series: z.array(
      z.object({
        name: z.string(),
        points: z.array(z.object({ step: z.number(), value: z.number() })),
      }),
    ),
  })
  .meta({ id: 'TrainingJobMetrics' });
export type JobMetrics = z.infer<typeof jobMetrics>;

const iso = (d: Date | null) => d?.toISOString() ?? null;

export function toTrainingJob(r: JobRow): TrainingJob {
  const running = r.state === 'running';
  const eta = running ? r.etaSeconds : r.state === 'succeeded' ? 0 : null;
  return {
    job_id: r.id,
    name: r.name,
    state: r.state,
    message: r.message,
    progress: r.state === 'succeeded' ? 100 : Math.round(r.progress * 10) / 10,
    eta_seconds: eta,
    estimated_completion:
      running && eta !== null ? new Date(r.updatedAt.getTime() + eta * 1000).toISOString() : null,
    priority: r.priority,
    attempts: r.attempts,
    max_attempts: r.maxAttempts,
    next_attempt_at: r.state === 'retrying' ? iso(r.nextAttemptAt) : null,
    timeout_seconds: r.timeoutSeconds,
    heartbeat_at: iso(r.heartbeatAt),
    worker_id: running ? r.leaseOwner : null,
    error: r.error ?? null,
    metrics: r.metrics,
    result: r.result ?? null,
    spec: r.spec,
    owner_id: r.ownerId,
    created_at: r.createdAt.toISOString(),
    updated_at: r.updatedAt.toISOString(),
    started_at: iso(r.startedAt),
    finished_at: iso(r.finishedAt),
  };
}

export const toLogLine = (l: LogRow) => ({
  id: l.id,
  attempt: l.attempt,
  level: l.level,
  message: l.message,
  at: l.at.toISOString(),
});

/** Points grouped by series name, in step order. */
export function toSeries(rows: MetricRow[]): JobMetrics['series'] {
  const byName = new Map<string, { step: number; value: number }[]>();
  for (const m of rows) {
    const points = byName.get(m.name) ?? [];
    points.push({ step: m.step, value: m.value });
    byName.set(m.name, points);
  }
  return [...byName].map(([name, points]) => ({ name, points }));
}
