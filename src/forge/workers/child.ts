import { type FromChild, MAX_LOG_LINE, type ToChild, type Trainer, toWireError } from './protocol.js';

/**
 * Entry of a trainer's child process: runs one job and exits. Nothing here touches the database or
 * the registry; the worker that forked it owns the job, so a trainer that crashes, runs out of
 * memory or is killed takes only this process down.
 */

/** Progress reports are thinned to this many per second; the worker stores them less often still. */
const PROGRESS_PER_SECOND = 10;

const send = (msg: FromChild) =>
  new Promise<void>((resolve) => {
    if (!process.send || !process.connected) return resolve();
    process.send(msg, undefined, {}, () => resolve());
  });

let started = false;
const abort = new AbortController();

process.on('message', (msg: ToChild) => {
  if (msg.type === 'stop') {
    abort.abort();
    return;
  }
  if (msg.type !== 'run' || started) return;
  started = true;
  void run(msg).then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
// The worker went away (its node died): nobody is left to report to.
process.on('disconnect', () => process.exit(0));

async function run(msg: Extract<ToChild, { type: 'run' }>) {
  let lastProgress = 0;
  let pending: number | null = null;
  const ctx = {
    seed: msg.job.spec.evaluation.seed,
    signal: abort.signal,
    progress(fraction: number) {
      if (!Number.isFinite(fraction)) return;
      pending = Math.min(1, Math.max(0, fraction));
      const now = Date.now();
      if (now - lastProgress < 1000 / PROGRESS_PER_SECOND && pending < 1) return;
      lastProgress = now;
      void send({ type: 'progress', fraction: pending });
      pending = null;
    },
    metric(name: string, value: number, step: number) {
      if (!Number.isFinite(value) || !Number.isFinite(step)) return;
      void send({ type: 'metric', name: String(name).slice(0, 200), value, step: Math.trunc(step) });
    },
    log(message: string, level: 'info' | 'warn' | 'error' = 'info') {
      void send({ type: 'log', level, message: String(message).slice(0, MAX_LOG_LINE) });
    },
  };
  try {
    const mod = (await import(msg.trainer)) as { trainer?: Trainer };
    if (!mod.trainer || typeof mod.trainer.run !== 'function')
      throw Object.assign(new Error(`${msg.trainer} does not export a trainer`), { permanent: true });
    const result = await mod.trainer.run(msg.job, ctx);
    if (pending !== null) await send({ type: 'progress', fraction: pending });
    await send({ type: 'done', metrics: result.metrics ?? {} });
  } catch (err) {
    await send({ type: 'error', error: toWireError(err) });
  }
}
