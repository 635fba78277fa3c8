import { fork } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExecuteOutcome } from '../workers/executor.js';
import { MAX_LOG_LINE, type TrainerJob } from '../workers/protocol.js';
import { lineSplitter, parseReport, renderArgs, trainerEnv } from './contract.js';
import type { FromSupervisor, ToSupervisor } from './protocol.js';

const SUPERVISOR = new URL(
  import.meta.url.endsWith('.ts') ? './supervisor.ts' : './supervisor.js',
  import.meta.url,
);
const EXEC_ARGV = import.meta.url.endsWith('.ts') ? ['--import', 'tsx'] : [];
/** Lines of standard error kept to explain a failure. */
const STDERR_TAIL = 5;
/** After a stop, how long the supervisor gets to end the trainer's group before it is killed too. */
const STOP_WAIT_MS = 10_000;

/** A trainer as one run needs it: environment values already opened. */
export interface RunnableTrainer {
  name: string;
  command: string;
  args: string[];
  env: Record<string, string>;
  timeoutSeconds: number;
}

export interface ExternalRunOptions {
  trainer: RunnableTrainer;
  job: TrainerJob;
  signal: AbortSignal;
  onProgress(fraction: number): void;
  onMetric(name: string, value: number, step: number): void;
  onLog(level: 'info' | 'warn' | 'error', message: string): void;
  /** The trainer's own pid, once it runs. */
  onSpawn?: ((pid: number) => void) | undefined;
}

/** Where a run's inputs (params.json) live: beside the output directory, never inside it. */
export const workDirOf = (outputDir: string) => `${outputDir}.work`;

/**
 * Runs an external trainer once for a job under the contract (contract.ts), through a supervisor
 * process that owns the trainer's process group. A stop or the trainer's timeout ends the group;
 * the outcome has the same shape as the built-in trainers', so the job runner treats both alike.
 */
export async function executeExternal(opts: ExternalRunOptions): Promise<ExecuteOutcome> {
  const { job, trainer } = opts;
  const workDir = workDirOf(job.outputDir);
  const paramsPath = join(workDir, 'params.json');
  await rm(workDir, { recursive: true, force: true });
  await mkdir(workDir, { recursive: true });
  await writeFile(paramsPath, JSON.stringify(job.spec.params ?? {}));
  const args = renderArgs(trainer.args, {
    dataset_path: job.dataset.path,
    params_path: paramsPath,
    output_dir: job.outputDir,
    job_id: job.jobId,
  });
  const env = trainerEnv(process.env, trainer.env, {
    datasetPath: job.dataset.path,
    datasetFormat: job.dataset.format,
    paramsPath,
    outputDir: job.outputDir,
    jobId: job.jobId,
    attempt: job.attempt,
  });
  try {
    return await supervise(opts, { type: 'run', command: trainer.command, args, env, cwd: workDir });
  } finally {
    await rm(workDir, { recursive: true, force: true }).catch(() => undefined);
  }
}

function supervise(opts: ExternalRunOptions, run: ToSupervisor): Promise<ExecuteOutcome> {
  const child = fork(SUPERVISOR, [], {
    execArgv: [...EXEC_ARGV],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    // The supervisor itself needs nothing of the worker's environment either.
    env: { PATH: process.env.PATH ?? '' },
  });
  const stderrTail: string[] = [];
  let metrics: Record<string, unknown> = {};
  let reported: { message: string; permanent: boolean } | undefined;
  const out = lineSplitter(MAX_LOG_LINE, (line) => {
    const r = parseReport(line, MAX_LOG_LINE);
    if (r.type === 'progress') opts.onProgress(r.fraction);
    else if (r.type === 'metric') opts.onMetric(r.name, r.value, r.step);
    else if (r.type === 'log') opts.onLog(r.level, r.message);
    else if (r.type === 'metrics') metrics = { ...metrics, ...r.metrics };
    else {
      reported = { message: r.message, permanent: r.permanent };
      opts.onLog('error', r.message);
    }
  });
  const err = lineSplitter(MAX_LOG_LINE, (line) => {
    const l = line.slice(0, MAX_LOG_LINE);
    stderrTail.push(l);
    if (stderrTail.length > STDERR_TAIL) stderrTail.shift();
    opts.onLog('warn', l);
  });
  child.stdout?.setEncoding('utf8');
  child.stderr?.setEncoding('utf8');
  child.stdout?.on('data', (c: string) => out.push(c));
  child.stderr?.on('data', (c: string) => err.push(c));

  return new Promise<ExecuteOutcome>((resolve) => {
    let outcome: ExecuteOutcome | undefined;
    let exit: Extract<FromSupervisor, { type: 'exit' }> | undefined;
    let killer: NodeJS.Timeout | undefined;
    const stop = (why: ExecuteOutcome) => {
      outcome ??= why;
      if (child.connected) child.send({ type: 'stop' } satisfies ToSupervisor, () => {});
      // A supervisor that does not end the group in time is told to go (it kills the group on SIGTERM).
      killer ??= setTimeout(() => child.kill('SIGTERM'), STOP_WAIT_MS);
      killer.unref();
    };
    const onAbort = () =>
      stop({
        ok: false,
        stopped: true,
        error: { code: 'stopped', message: 'The trainer was stopped', transient: true },
      });
    if (opts.signal.aborted) onAbort();
    else opts.signal.addEventListener('abort', onAbort, { once: true });
    const timeoutMs = opts.trainer.timeoutSeconds * 1000;
    const timer = setTimeout(
      () =>
        stop({
          ok: false,
          stopped: false,
          error: {
            code: 'timeout',
            message: `Trainer ${opts.trainer.name} ran longer than its timeout of ${opts.trainer.timeoutSeconds} s`,
            transient: false,
          },
        }),
      Math.min(timeoutMs, 2 ** 31 - 1),
    );
    timer.unref();

    child.on('message', (msg: FromSupervisor) => {
      if (msg.type === 'spawned') opts.onSpawn?.(msg.pid);
      else if (msg.type === 'spawn_error')
        outcome ??= {
          ok: false,
          stopped: false,
          error: {
            code: 'trainer_start_failed',
            message: `Trainer ${opts.trainer.name} could not start: ${msg.message}`,
            transient: true,
          },
        };
      else if (msg.type === 'exit') exit = msg;
    });
    child.on('error', (e) => {
      outcome ??= {
        ok: false,
        stopped: false,
        error: { code: 'trainer_start_failed', message: e.message, transient: true },
      };
      if (child.pid === undefined) finish();
    });
    // After the supervisor exited and every output line of the trainer's group was read.
    child.on('close', () => finish());
    let finished = false;
    function finish() {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      if (killer) clearTimeout(killer);
      opts.signal.removeEventListener('abort', onAbort);
      out.end();
      err.end();
      resolve(outcome ?? fromExit(opts.trainer.name, exit, metrics, reported, stderrTail));
    }
    child.send(run, () => {});
  });
}

function fromExit(
  name: string,
  exit: Extract<FromSupervisor, { type: 'exit' }> | undefined,
  metrics: Record<string, unknown>,
  reported: { message: string; permanent: boolean } | undefined,
  stderrTail: string[],
): ExecuteOutcome {
  if (exit?.code === 0) return { ok: true, metrics };
  const tail = stderrTail.length > 0 ? `: ${stderrTail.slice(-3).join(' | ')}` : '';
  if (!exit)
    return {
      ok: false,
      stopped: false,
      error: {
        code: 'trainer_crashed',
        message: `The supervisor of trainer ${name} ended unexpectedly`,
        transient: true,
      },
    };
  if (exit.signal)
    return {
      ok: false,
      stopped: false,
      error: {
        code: 'trainer_crashed',
        message: `Trainer ${name} was killed by ${exit.signal}${tail}`,
        transient: true,
      },
    };
  return {
    ok: false,
    stopped: false,
    error: {
      code: 'trainer_failed',
      message: reported?.message ?? `Trainer ${name} exited with code ${exit.code}${tail}`,
      transient: !reported?.permanent,
    },
  };
}
