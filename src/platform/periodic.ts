import type { Logger } from 'pino';

/**
 * Runs a housekeeping task now and then every `everyMs`, never two runs at once. Failures are logged
 * and the next run tries again. The returned stop function also waits for a run in progress, so a
 * caller can close the database right after.
 */
export function startPeriodic(opts: {
  name: string;
  everyMs: number;
  log: Logger;
  run: () => Promise<void>;
}): () => Promise<void> {
  let running: Promise<void> | null = null;
  const tick = () => {
    running ??= opts
      .run()
      .catch((err: unknown) => opts.log.warn({ err, task: opts.name }, `${opts.name} failed`))
      .finally(() => {
        running = null;
      });
    return running;
  };
  void tick();
  const timer = setInterval(() => void tick(), opts.everyMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
