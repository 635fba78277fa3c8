import type { TrainingSpec } from '../jobs/spec.js';

/**
 * The contract between a worker and the trainer it runs in a child process. The child imports the
 * trainer module named in the job (its `trainer` export), runs it once, reports over IPC and exits;
 * the trainer writes its outputs into `outputDir` (pipeline.json for a tabular pipeline), which is
 * keyed by job id so a rerun of the same job finds, and never duplicates, what an earlier one made.
 */
export interface TrainerJob {
  jobId: string;
  attempt: number;
  spec: TrainingSpec;
  dataset: {
    datasetId: string;
    version: number;
    path: string;
    format: string;
    kind: string;
    schema: unknown;
    rows: number;
  };
  outputDir: string;
}

export interface TrainerContext {
  seed: number;
  /** Aborted when the worker asks the trainer to stop (it is killed shortly after anyway). */
  signal: AbortSignal;
  /** 0..1 over the whole job. */
  progress(fraction: number): void;
  metric(name: string, value: number, step: number): void;
  log(message: string, level?: 'info' | 'warn' | 'error'): void;
}

export interface Trainer {
  run(job: TrainerJob, ctx: TrainerContext): Promise<{ metrics: Record<string, unknown> }>;
}

export interface WireError {
  code: string;
  message: string;
  /** True when running the same spec again cannot succeed (invalid config, missing column). */
  permanent: boolean;
}

export type ToChild = { type: 'run'; trainer: string; job: TrainerJob } | { type: 'stop' };

export type FromChild =
  | { type: 'progress'; fraction: number }
  | { type: 'metric'; name: string; value: number; step: number }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string }
  | { type: 'done'; metrics: Record<string, unknown> }
  | { type: 'error'; error: WireError };

/** Longest log line kept; trainers that print a whole frame must not fill the database. */
export const MAX_LOG_LINE = 4000;

/**
 * Spec and data errors repeat on every attempt: pipeline errors say so (`retryable: false`), and
 * any error carrying a 4xx status is about the request, not the machine. Anything else (a bug, an
 * I/O error) may be transient and is left to the retry policy.
 */
export function toWireError(err: unknown): WireError {
  const e = (err ?? {}) as {
    code?: unknown;
    message?: unknown;
    status?: unknown;
    retryable?: unknown;
    permanent?: unknown;
    errors?: { path?: unknown; message?: unknown }[];
  };
  const status = typeof e.status === 'number' ? e.status : undefined;
  const permanent =
    e.retryable === false || e.permanent === true || (status !== undefined && status >= 400 && status < 500);
  let message = typeof e.message === 'string' ? e.message : String(err);
  if (Array.isArray(e.errors) && e.errors.length > 0)
    message += ` (${e.errors.map((f) => `${String(f.path)}: ${String(f.message)}`).join('; ')})`;
  return {
    code: typeof e.code === 'string' && /^[a-z][a-z0-9_]{0,63}$/.test(e.code) ? e.code : 'training_failed',
    message: message.slice(0, MAX_LOG_LINE),
    permanent,
  };
}
