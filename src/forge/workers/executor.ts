import { fork } from 'node:child_process';
import type { JobError } from '../jobs/tables.js';
import { type FromChild, MAX_LOG_LINE, type ToChild, type TrainerJob } from './protocol.js';

const CHILD = new URL(import.meta.url.endsWith('.ts') ? './child.ts' : './child.js', import.meta.url);
// Under the TypeScript sources (tests, `npm run dev`) the child needs the same loader as the node.
const EXEC_ARGV = import.meta.url.endsWith('.ts') ? ['--import', 'tsx'] : [];

/** Lines of the child's stderr kept to explain a crash. */
const STDERR_TAIL = 20;

export interface ExecuteOptions {
  /** URL of the trainer module (its `trainer` export implements Trainer). */
  trainer: string;
  job: TrainerJob;
  /** Heap limit of the child (--max-old-space-size). */
  memoryMb?: number | undefined;
  /** Aborting kills the child at once; the outcome is then `{ ok: false, stopped: true }`. */
  signal: AbortSignal;
  onProgress(fraction: number): void;
  onMetric(name: string, value: number, step: number): void;
  onLog(level: 'info' | 'warn' | 'error', message: string): void;
  /** Called once the child runs, with its pid (tests kill it with SIGKILL). */
  onSpawn?: (pid: number) => void;
}

export type ExecuteOutcome =
  | { ok: true; metrics: Record<string, unknown> }
  | { ok: false; stopped: boolean; error: JobError };

/**
 * Runs one attempt of a job in a child process and reports what it said. A child that exits
 * without a result crashed (an out-of-memory kill, a native fault, a SIGKILL from outside): that is
 * transient, and the retry policy decides. A stop kills the child with SIGKILL: trainers write only
 * inside the job's output directory, so there is nothing to shut down gracefully.
 */
export function executeTrainer(opts: ExecuteOptions): Promise<ExecuteOutcome> {
  const execArgv = [...EXEC_ARGV];
  if (opts.memoryMb) execArgv.push(`--max-old-space-size=${opts.memoryMb}`);
  const child = fork(CHILD, [], {
    execArgv,
    serialization: 'advanced',
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: { ...process.env, NODE_LLAMA_CPP_SKIP_DOWNLOAD: 'true' },
  });
  const stderrTail: string[] = [];
  const lines = (stream: NodeJS.ReadableStream | null, level: 'info' | 'warn') => {
    let rest = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      const parts = (rest + chunk).split('\n');
      rest = parts.pop() ?? '';
      if (rest.length > MAX_LOG_LINE) {
        parts.push(rest);
        rest = '';
      }
      for (const p of parts) {
        const line = p.trimEnd().slice(0, MAX_LOG_LINE);
        if (!line) continue;
        if (level === 'warn') {
          stderrTail.push(line);
          if (stderrTail.length > STDERR_TAIL) stderrTail.shift();
        }
        opts.onLog(level, line);
      }
    });
  };
  lines(child.stdout, 'info');
  lines(child.stderr, 'warn');

  return new Promise<ExecuteOutcome>((resolve) => {
    let outcome: ExecuteOutcome | undefined;
    const kill = () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    };
    const onAbort = () => {
      outcome ??= {
        ok: false,
        stopped: true,
        error: { code: 'stopped', message: 'The trainer was stopped', transient: true },
      };
      kill();
    };
    if (opts.signal.aborted) onAbort();
    else opts.signal.addEventListener('abort', onAbort, { once: true });

    child.on('spawn', () => {
      if (child.pid) opts.onSpawn?.(child.pid);
    });
    child.on('message', (msg: FromChild) => {
      switch (msg.type) {
        case 'progress':
          opts.onProgress(msg.fraction);
          break;
        case 'metric':
          opts.onMetric(msg.name, msg.value, msg.step);
          break;
        case 'log':
          opts.onLog(msg.level, msg.message);
          break;
        case 'done':
          outcome ??= { ok: true, metrics: msg.metrics };
          break;
        case 'error':
          outcome ??= {
            ok: false,
            stopped: false,
            error: { code: msg.error.code, message: msg.error.message, transient: !msg.error.permanent },
          };
          break;
      }
    });
    // 'error' without 'exit' means the process could not be started at all.
    child.on('error', (err) => {
      outcome ??= {
        ok: false,
        stopped: false,
        error: { code: 'trainer_start_failed', message: err.message, transient: true },
      };
      if (child.pid === undefined) finish();
    });
    // 'close' comes after the exit and after the last IPC message and output line were read.
    child.on('close', (code, signal) => {
      if (!outcome) {
        const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
        const tail = stderrTail.length > 0 ? `: ${stderrTail.slice(-3).join(' | ')}` : '';
        outcome = {
          ok: false,
          stopped: false,
          error: { code: 'trainer_crashed', message: `The trainer process ${how}${tail}`, transient: true },
        };
      }
      finish();
    });
    let finished = false;
    function finish() {
      if (finished) return;
      finished = true;
      opts.signal.removeEventListener('abort', onAbort);
      resolve(outcome as ExecuteOutcome);
    }
    const run: ToChild = { type: 'run', trainer: opts.trainer, job: opts.job };
    // A failed send means the child is already gone; its exit reports the crash.
    child.send(run, () => {});
  });
}
