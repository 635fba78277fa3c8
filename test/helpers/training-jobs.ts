import type { TrainingJob } from '../../src/forge/jobs/schema.js';
import type { ScriptedAnswer, ScriptedCall } from './scripted-api.js';

/** A training job as GET /training/{id} answers it, for CLI tests. */
export const trainingJob = (over: Partial<TrainingJob> = {}): TrainingJob => ({
  job_id: 'j1',
  name: 'churn-gbdt',
  state: 'queued',
  message: '',
  progress: 0,
  eta_seconds: null,
  estimated_completion: null,
  priority: 0,
  attempts: 0,
  max_attempts: 3,
  next_attempt_at: null,
  timeout_seconds: 3600,
  heartbeat_at: null,
  worker_id: null,
  error: null,
  metrics: {},
  result: null,
  spec: { dataset_id: 'churn', dataset_version: 2, task: 'classification' },
  owner_id: 'u1',
  created_at: '2030-01-01T00:00:00Z',
  updated_at: '2030-01-01T00:00:00Z',
  started_at: null,
  finished_at: null,
  ...over,
});

export const runningJob = (progress: number, over: Partial<TrainingJob> = {}) =>
  trainingJob({
    state: 'running',
    progress,
    eta_seconds: Math.round((100 - progress) * 0.8),
    attempts: 1,
    worker_id: 'w1',
    started_at: '2030-01-01T00:00:01Z',
    ...over,
  });

export const succeededJob = trainingJob({
  state: 'succeeded',
  progress: 100,
  eta_seconds: 0,
  attempts: 1,
  metrics: { accuracy: 0.93125, f1: 0.9, confusion: [[1, 2]] },
  result: { model_id: 'm1', model_name: 'churn', version: 4 },
  finished_at: '2030-01-01T00:01:00Z',
});

export const logLine = (id: number, message: string, level: 'info' | 'warn' | 'error' = 'info') => ({
  id,
  attempt: 1,
  level,
  message,
  at: `2030-01-01T00:00:${String(id).padStart(2, '0')}Z`,
});

/**
 * A node running one job through `states` (one per GET of the job), with log lines that appear
 * as the job advances: `logsAt[i]` become readable once the i-th state has been served.
 */
export function trainingScript(
  states: TrainingJob[],
  opts: {
    logsAt?: Record<number, ReturnType<typeof logLine>[]>;
    metrics?: { name: string; points: { step: number; value: number }[] }[];
  } = {},
) {
  const rest = [...states];
  let served = -1;
  const visibleLogs = () =>
    Object.entries(opts.logsAt ?? {})
      .filter(([i]) => Number(i) <= served)
      .flatMap(([, lines]) => lines);
  return (c: ScriptedCall): ScriptedAnswer => {
    if (c.method === 'POST' && c.path === '/api/v1/training/dispatch')
      return { status: 202, body: trainingJob({ name: String((c.body as { name?: string }).name ?? 'x') }) };
    if (c.method === 'POST' && c.path.endsWith('/cancel'))
      return { body: trainingJob({ state: 'cancelled', message: 'cancelled by alice' }) };
    if (c.path.endsWith('/logs')) {
      const after = Number(c.query.after ?? 0);
      return { body: { items: visibleLogs().filter((l) => l.id > after), next_after: null } };
    }
    if (c.path.endsWith('/metrics'))
      return { body: { job_id: 'j1', attempt: 1, summary: {}, series: opts.metrics ?? [] } };
    served++;
    return { body: rest.length > 1 ? rest.shift() : rest[0] };
  };
}
