import { type ChildProcess, fork } from 'node:child_process';
import type { Logger } from 'pino';
import type {
  Capabilities,
  EmbedResult,
  GenerateEvent,
  GenerateRequest,
  LoadSpec,
  PredictResult,
} from '../types.js';
import { hostExited, hostLoadTimeout, wireToAppError } from './errors.js';
import type { FromHost, ToHost } from './protocol.js';

/** A version loaded in its own host process, seen from the node. */
export interface HostedModel {
  readonly pid: number;
  readonly capabilities: Capabilities;
  /** Resident memory of the host right after loading, in bytes. */
  readonly loadRss: number;
  generate(req: GenerateRequest, signal: AbortSignal): AsyncIterable<GenerateEvent>;
  embed(inputs: string[], signal: AbortSignal): Promise<EmbedResult>;
  predict(rows: Record<string, unknown>[], signal: AbortSignal): Promise<PredictResult>;
  /** Resident memory of the host now, in bytes. */
  memory(): Promise<number>;
  /** Asks the runtime to release the model, then ends the process (killed after `graceMs`). */
  unload(graceMs?: number): Promise<void>;
  /** Called once if the process ends without having been asked to unload. */
  onCrash(listener: (reason: string) => void): void;
}

export interface StartHostOptions {
  /** URL of the runtime module (its `runtime` export implements RuntimeModule). */
  module: string;
  spec: LoadSpec;
  log: Logger;
  loadTimeoutMs?: number;
  /** Aborting kills a host that is still loading. */
  signal?: AbortSignal;
}

const CHILD = new URL(import.meta.url.endsWith('.ts') ? './child.ts' : './child.js', import.meta.url);
// Under the TypeScript sources (tests, `npm run dev`) the child needs the same loader as the node.
const EXEC_ARGV = import.meta.url.endsWith('.ts') ? ['--import', 'tsx'] : [];

type Pending = {
  onEvent?: (e: GenerateEvent) => void;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
};

export async function startHost(opts: StartHostOptions): Promise<HostedModel> {
  const child = fork(CHILD, [], {
    execArgv: EXEC_ARGV,
    serialization: 'advanced',
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: { ...process.env, NODE_LLAMA_CPP_SKIP_DOWNLOAD: 'true' },
  });
  const log = opts.log.child({ runtime_pid: child.pid });
  pipeOutput(child, log);

  const pending = new Map<number, Pending>();
  let nextId = 1;
  let unloading = false;
  let exitReason: string | null = null;
  const crashListeners: ((reason: string) => void)[] = [];

  const ready = new Promise<Extract<FromHost, { type: 'loaded' }>>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(hostLoadTimeout(opts.loadTimeoutMs ?? 0));
    }, opts.loadTimeoutMs ?? 120_000);
    timer.unref();
    const onAbort = () => child.kill('SIGKILL');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('message', (msg: FromHost) => {
      if (msg.type === 'loaded' || msg.type === 'load_error') {
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        if (msg.type === 'loaded') resolve(msg);
        else {
          child.kill('SIGKILL');
          reject(wireToAppError(msg.error, 'load'));
        }
        return;
      }
      route(msg);
    });
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      exitReason = sig ? `killed by ${sig}` : `exited with code ${code}`;
      reject(hostExited(exitReason));
      const err = hostExited(exitReason);
      for (const p of pending.values()) p.reject(err);
      pending.clear();
      if (!unloading) for (const l of crashListeners) l(exitReason);
    });
  });

  function route(msg: FromHost) {
    if (!('id' in msg)) return;
    const p = pending.get(msg.id);
    if (!p) return;
    if (msg.type === 'event') p.onEvent?.(msg.event);
    else if (msg.type === 'error') {
      pending.delete(msg.id);
      p.reject(wireToAppError(msg.error, 'request'));
    } else {
      pending.delete(msg.id);
      p.resolve(msg.type === 'result' ? msg.result : undefined);
    }
  }

  const post = (msg: ToHost) => {
    if (child.connected) child.send(msg);
  };
  post({ type: 'load', module: opts.module, spec: opts.spec });
  const loaded = await ready;

  /** One request/answer exchange; `signal` sends a cancel for it. */
  function call<T>(
    build: (id: number) => ToHost,
    signal?: AbortSignal,
    onEvent?: (e: GenerateEvent) => void,
  ) {
    if (exitReason) return Promise.reject(hostExited(exitReason));
    const id = nextId++;
    const done = new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject, ...(onEvent ? { onEvent } : {}) });
    });
    const onAbort = () => post({ type: 'cancel', id });
    if (signal?.aborted) queueMicrotask(onAbort);
    else signal?.addEventListener('abort', onAbort, { once: true });
    post(build(id));
    return done.finally(() => signal?.removeEventListener('abort', onAbort));
  }

  return {
    pid: child.pid ?? 0,
    capabilities: loaded.capabilities,
    loadRss: loaded.rss,
    generate(req, signal) {
      return streamEvents((onEvent) => call<void>((id) => ({ type: 'generate', id, req }), signal, onEvent));
    },
    embed: (inputs, signal) => call<EmbedResult>((id) => ({ type: 'embed', id, inputs }), signal),
    predict: (rows, signal) => call<PredictResult>((id) => ({ type: 'predict', id, rows }), signal),
    async memory() {
      return (await call<{ rss: number }>((id) => ({ type: 'memory', id }))).rss;
    },
    async unload(graceMs = 10_000) {
      if (exitReason) return;
      unloading = true;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      post({ type: 'unload' });
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
    onCrash(listener) {
      crashListeners.push(listener);
    },
  };
}

/**
 * Turns a callback-driven exchange into an async iterable: events queue until the consumer pulls.
 * A consumer that stops early leaves the exchange to its signal (the caller aborts it).
 */
function streamEvents(
  run: (onEvent: (e: GenerateEvent) => void) => Promise<void>,
): AsyncIterable<GenerateEvent> {
  return {
    [Symbol.asyncIterator]() {
      const queue: GenerateEvent[] = [];
      let wake: (() => void) | null = null;
      let finished = false;
      let failure: Error | null = null;
      const poke = () => {
        wake?.();
        wake = null;
      };
      run((e) => {
        queue.push(e);
        poke();
      }).then(
        () => {
          finished = true;
          poke();
        },
        (err: Error) => {
          failure = err;
          finished = true;
          poke();
        },
      );
      return {
        async next(): Promise<IteratorResult<GenerateEvent>> {
          for (;;) {
            const e = queue.shift();
            if (e) return { value: e, done: false };
            if (failure) throw failure;
            if (finished) return { value: undefined, done: true };
            await new Promise<void>((r) => {
              wake = r;
            });
          }
        },
        async return(): Promise<IteratorResult<GenerateEvent>> {
          finished = true;
          return { value: undefined, done: true };
        },
      };
    },
  };
}

function pipeOutput(child: ChildProcess, log: Logger) {
  const forward = (level: 'debug' | 'warn') => (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n'))
      if (line.trim()) log[level]({ runtime_output: line });
  };
  child.stdout?.on('data', forward('debug'));
  child.stderr?.on('data', forward('warn'));
}
