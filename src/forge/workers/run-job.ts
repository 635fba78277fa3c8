import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { permissionsOf } from '../../hub/auth/permissions.js';
import type { RequestContext } from '../../hub/auth/principal.js';
import type { UserRow } from '../../hub/users/repository.js';
import { AppError } from '../../platform/errors.js';
import type { JobEvents } from '../jobs/events.js';
import type { DatasetFiles } from '../jobs/ports.js';
import type { JobRegistration } from '../jobs/register.js';
import type { HeldUpdate, JobRepository, JobRow, NewLog, NewMetric } from '../jobs/repository.js';
import { HOLD_MS } from '../jobs/service.js';
import { type TrainingSpec, trainingSpec } from '../jobs/spec.js';
import { afterFailure, estimateEta, type RetryPolicy } from '../jobs/state.js';
import type { JobError, JobResult } from '../jobs/tables.js';
import type { JobDispatch } from './dispatch.js';
import { executeTrainer } from './executor.js';

/** Why a worker stops a job it runs; each leaves the job row in a different hand. */
export type StopReason = 'cancel' | 'release' | 'lost' | 'timeout';

/** Written next to a job's outputs once its trainer finished, so a rerun registers without training. */
const DONE_FILE = 'done.json';
/** Logs, metrics and progress are written and announced at most this often per job. */
const FLUSH_MS = 1000;
/** Trainer log lines kept per attempt: one that prints without end must not fill the database. */
const MAX_LOG_LINES = 10_000;

export interface RunJobDeps {
  repo: JobRepository;
  events: JobEvents;
  dispatch: JobDispatch;
  registration: JobRegistration;
  datasets: DatasetFiles;
  users: { byId(id: string): Promise<UserRow | undefined> };
  log: Logger;
  now: () => Date;
  /** Job outputs live in <outputsDir>/<job_id>/ until they are registered. */
  outputsDir: string;
  /** URL of the trainer module the child process runs. */
  trainer: string;
  timing: () => { leaseMs: number; heartbeatMs: number };
  policy: () => RetryPolicy;
  /** Tests learn the trainer's pid this way to kill it. */
  onSpawn?: ((jobId: string, pid: number) => void) | undefined;
  /** Runs one attempt's trainer; the child-process executor unless the job needs another. */
  execute?: typeof executeTrainer | undefined;
}

class JobStopped extends Error {
  constructor(readonly reason: StopReason) {
    super(`stopped: ${reason}`);
  }
}

/** An error as the job records it: 4xx errors are about the spec or the caller and never retried. */
export function toJobError(err: unknown): JobError {
  if (err instanceof AppError)
    return { code: err.code, message: err.message, transient: err.status >= 500 || err.status === 429 };
  const e = err as { retryable?: unknown; code?: unknown; message?: unknown };
  if (e?.retryable === false)
    return { code: String(e.code ?? 'training_failed'), message: String(e.message), transient: false };
  return {
    code: 'internal_error',
    message: err instanceof Error ? err.message : String(err),
    transient: true,
  };
}

/**
 * The job acts as its owner with the role they hold when it runs: an account disabled or deleted
 * while the job waited must not gain a model version through it.
 */
async function ownerContext(deps: RunJobDeps, row: JobRow): Promise<RequestContext> {
  const user = await deps.users.byId(row.ownerId);
  if (!user || user.disabled)
    throw new AppError(409, 'owner_inactive', `The job's owner account is ${user ? 'disabled' : 'deleted'}`);
  return {
    principal: {
      userId: user.id,
      username: user.username,
      role: user.role,
      permissions: permissionsOf(user.role),
      via: 'session',
    },
    requestId: `training-${row.id}`,
    ip: '',
  };
}

/**
 * Runs one claimed attempt of a job to its end, holding the lease meanwhile. Every write is
 * conditioned on still holding the lease, so a cancel, a timeout or a sweeper that re-queued the
 * job wins over whatever this worker was about to write. Safe to run twice for one job: outputs are
 * keyed by job id and the registry gives back the version a job already registered.
 */
export async function runJob(deps: RunJobDeps, claimed: JobRow, workerId: string, stop: AbortSignal) {
  const jobId = claimed.id;
  const attempt = claimed.attempts;
  const startedAt = claimed.attemptStartedAt ?? deps.now();
  const log = deps.log.child({ jobId, workerId, attempt });
  const abort = new AbortController();
  const stopWith = (reason: StopReason) => {
    if (!abort.signal.aborted) abort.abort(reason);
  };
  const onStop = () => stopWith((stop.reason as StopReason) ?? 'release');
  if (stop.aborted) onStop();
  else stop.addEventListener('abort', onStop, { once: true });
  const checkStopped = () => {
    if (abort.signal.aborted) throw new JobStopped(abort.signal.reason as StopReason);
  };

  // Reports buffered between flushes.
  let logs: NewLog[] = [];
  let points: NewMetric[] = [];
  let fraction = 0;
  let progressDirty = false;
  let logLines = 0;
  let logsLeftOut = 0;
  const addLog = (level: NewLog['level'], message: string) =>
    logs.push({ jobId, attempt, level, message, at: deps.now() });
  // Only what the trainer prints is capped; the worker's own few lines say how the attempt went.
  const addTrainerLog = (level: NewLog['level'], message: string) => {
    if (logLines >= MAX_LOG_LINES) return void logsLeftOut++;
    logLines++;
    addLog(level, message);
  };
  /** Said before the job's final state is written, so whoever sees that state reads every line. */
  const noteLeftOut = () => {
    if (logsLeftOut === 0) return;
    addLog(
      'warn',
      `${logsLeftOut} more lines of the trainer were left out (at most ${MAX_LOG_LINES} per attempt)`,
    );
    logsLeftOut = 0;
  };
  const progressSet = (): HeldUpdate => ({
    progress: fraction * 100,
    etaSeconds: estimateEta(fraction, deps.now().getTime() - startedAt.getTime()),
  });

  // One write at a time, in order: flushes, heartbeats and the final update never interleave.
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const p = chain.then(fn);
    chain = p.catch(() => undefined);
    return p;
  };
  const flush = () =>
    serial(async () => {
      const l = logs;
      const m = points;
      logs = [];
      points = [];
      const stored = await deps.repo.appendLogs(l);
      await deps.repo.appendMetrics(m);
      await deps.events.logs({ id: jobId, ownerId: claimed.ownerId }, stored);
      await deps.events.metrics(
        { id: jobId, ownerId: claimed.ownerId },
        attempt,
        m.map((p) => ({ name: p.name, step: p.step, value: p.value })),
      );
      if (progressDirty) {
        progressDirty = false;
        const row = await deps.repo.updateHeld(jobId, workerId, deps.now(), progressSet());
        if (row) await deps.events.job(row, 'job.progress');
      }
    }).catch((err) => log.warn({ err }, 'training job reports not saved'));
  const heartbeat = () =>
    serial(async () => {
      const { leaseMs } = deps.timing();
      const row = await deps.repo.heartbeat(jobId, workerId, deps.now(), leaseMs, progressSet());
      // Cancelled, timed out or re-queued by a sweeper: the job is no longer this worker's.
      if (!row) {
        const now = await deps.repo.get(jobId);
        stopWith(now?.state === 'cancelled' ? 'cancel' : 'lost');
      }
    }).catch((err) => log.warn({ err }, 'lease not renewed'));

  const { heartbeatMs } = deps.timing();
  const timers = [
    setInterval(() => void flush(), FLUSH_MS),
    setInterval(() => void heartbeat(), heartbeatMs),
  ];
  if (claimed.deadlineAt) {
    const left = claimed.deadlineAt.getTime() - deps.now().getTime();
    timers.push(setTimeout(() => stopWith('timeout'), Math.max(0, Math.min(left, 2 ** 31 - 1))));
  }
  for (const t of timers) t.unref();

  const outputDir = join(deps.outputsDir, jobId);
  let succeeded: JobRow | undefined;
  try {
    const parsed = trainingSpec.safeParse(claimed.spec);
    if (!parsed.success)
      throw new AppError(
        400,
        'invalid_spec',
        `The stored spec is not valid: ${parsed.error.issues[0]?.message}`,
      );
    const spec: TrainingSpec = parsed.data;
    addLog('info', `Attempt ${attempt} of ${claimed.maxAttempts} on worker ${workerId}`);
    const ctx = await ownerContext(deps, claimed);
    // register: false (a search's trial): train and evaluate only, and keep the fitted pipeline in
    // the output folder for the search, which registers its best trial's once it ends.
    const registers = spec.register !== false;
    let result: JobResult | null = registers ? await deps.registration.existing(spec, jobId) : null;
    let metrics: Record<string, unknown> = claimed.metrics;
    if (result) {
      addLog(
        'info',
        `Version ${result.version} of ${result.model_name} was registered by an earlier attempt`,
      );
    } else {
      const done = await readDone(outputDir);
      const dataset = await deps.datasets.fileFor(ctx, spec.dataset_id, spec.dataset_version);
      if (done) {
        metrics = done.metrics;
        addLog('info', 'An earlier attempt finished training; registering its output');
      } else {
        checkStopped();
        await rm(outputDir, { recursive: true, force: true });
        await mkdir(outputDir, { recursive: true });
        addLog(
          'info',
          `Training on ${dataset.rows} rows of dataset ${dataset.datasetId} v${dataset.version}`,
        );
        const outcome = await (deps.execute ?? executeTrainer)({
          trainer: deps.trainer,
          job: { jobId, attempt, spec, dataset, outputDir },
          memoryMb: spec.resources.memory_mb,
          signal: abort.signal,
          onProgress: (f) => {
            fraction = f;
            progressDirty = true;
          },
          onMetric: (name, value, step) => points.push({ jobId, attempt, name, step, value, at: deps.now() }),
          onLog: (level, message) => addTrainerLog(level, message),
          onSpawn: (pid) => deps.onSpawn?.(jobId, pid),
        });
        checkStopped();
        if (!outcome.ok) throw Object.assign(new Error(outcome.error.message), { jobError: outcome.error });
        metrics = outcome.metrics;
        await writeFile(join(outputDir, DONE_FILE), JSON.stringify({ metrics }));
      }
      if (registers) {
        // Renewed before registering: a worker that lost the job meanwhile must not register for it.
        await heartbeat();
        checkStopped();
        result = await deps.registration.register(ctx, {
          jobId,
          spec,
          datasetId: dataset.datasetId,
          outputDir,
          metrics,
        });
        addLog('info', `Registered as version ${result.version} of ${result.model_name}`);
      } else addLog('info', 'Not registered (register: false); the fitted pipeline is kept');
    }
    noteLeftOut();
    await flush();
    fraction = 1;
    const final = result;
    // Registered, so the outputs are no longer needed; a rerun would find the version anyway.
    if (final) await rm(outputDir, { recursive: true, force: true });
    succeeded = await serial(() =>
      deps.repo.updateHeld(jobId, workerId, deps.now(), {
        state: 'succeeded',
        progress: 100,
        etaSeconds: 0,
        message: final
          ? `Registered as version ${final.version} of ${final.model_name}`
          : 'Trained and evaluated; not registered',
        metrics,
        result: final,
        error: null,
        leaseOwner: null,
        leaseExpiresAt: null,
        finishedAt: deps.now(),
      }),
    );
    if (succeeded) await deps.events.job(succeeded, 'job.succeeded');
  } catch (err) {
    const reason = err instanceof JobStopped ? err.reason : (abort.signal.reason as StopReason | undefined);
    await settle(err, reason);
  } finally {
    for (const t of timers) clearInterval(t);
    stop.removeEventListener('abort', onStop);
    noteLeftOut();
    await flush();
  }

  async function settle(err: unknown, reason: StopReason | undefined) {
    if (reason === 'cancel' || reason === 'lost') {
      addLog('warn', reason === 'cancel' ? 'Cancelled' : 'The job is no longer held by this worker');
      return;
    }
    noteLeftOut();
    if (reason === 'release') {
      addLog('warn', 'Stopped: the job goes back to the queue');
      await flush();
      // Held back like a new job, so its job.queued comes before another worker's job.running.
      const now = deps.now();
      const row = await serial(() =>
        deps.repo.release(jobId, workerId, now, new Date(now.getTime() + HOLD_MS)),
      );
      if (row) {
        await deps.events.job(row, 'job.queued');
        await deps.repo.unhold(jobId, deps.now());
        deps.dispatch.announce(jobId);
      }
      return;
    }
    const error: JobError =
      reason === 'timeout'
        ? {
            code: 'timeout',
            message: `The attempt ran longer than its timeout of ${claimed.timeoutSeconds} s`,
            transient: false,
          }
        : ((err as { jobError?: JobError }).jobError ?? toJobError(err));
    if (error.code === 'internal_error') log.error({ err }, 'training job failed unexpectedly');
    const now = deps.now();
    const outcome = afterFailure(claimed, error, now, deps.policy());
    addLog(
      'error',
      `${error.message}${outcome.state === 'retrying' ? ` (retrying at ${outcome.nextAttemptAt.toISOString()})` : ''}`,
    );
    await flush();
    const row = await serial(() =>
      deps.repo.updateHeld(
        jobId,
        workerId,
        now,
        outcome.state === 'retrying'
          ? {
              state: 'retrying',
              error,
              nextAttemptAt: outcome.nextAttemptAt,
              message: `Attempt ${attempt} failed; retrying`,
              etaSeconds: null,
              leaseOwner: null,
              leaseExpiresAt: null,
            }
          : {
              state: 'failed',
              error,
              message: `Failed: ${error.code}`,
              etaSeconds: null,
              leaseOwner: null,
              leaseExpiresAt: null,
              finishedAt: now,
            },
      ),
    );
    if (!row) return;
    if (outcome.state === 'retrying') {
      await deps.events.job(row, 'job.retrying');
      deps.dispatch.announce(jobId, outcome.nextAttemptAt);
    } else {
      await deps.events.job(row, 'job.failed');
      await rm(outputDir, { recursive: true, force: true });
    }
  }
}

async function readDone(dir: string): Promise<{ metrics: Record<string, unknown> } | null> {
  try {
    const raw = JSON.parse(await readFile(join(dir, DONE_FILE), 'utf8')) as { metrics?: unknown };
    return raw && typeof raw.metrics === 'object' && raw.metrics !== null
      ? { metrics: raw.metrics as Record<string, unknown> }
      : null;
  } catch {
    return null;
  }
}
