import { hostname } from 'node:os';
import type { Command } from 'commander';
import { type Config, ConfigError, loadConfig } from '../config.js';

/**
 * `polar worker`: runs training jobs for a deployment, with no HTTP server, on any machine that
 * reaches its PostgreSQL and Redis (and its artifact store). SIGTERM or Ctrl-C drains: the job in
 * progress finishes, no new one starts, then the process exits; a second signal stops at once and
 * the running job goes back to the queue.
 */
export function registerWorker(program: Command) {
  program
    .command('worker')
    .description('Run training jobs for a deployment (needs POLAR_DATABASE_URL and POLAR_REDIS_URL)')
    .option('--concurrency <n>', 'jobs this process runs at once', '1')
    .option(
      '--data-dir <dir>',
      'data directory for job outputs and the local artifact store (POLAR_DATA_DIR)',
    )
    .action(async (opts: { concurrency: string; dataDir?: string }) => {
      const fail = (message: string): never => {
        process.stderr.write(`${message}\n`);
        process.exit(2);
      };
      let config: Config;
      try {
        config = loadConfig({ ...process.env, ...(opts.dataDir ? { POLAR_DATA_DIR: opts.dataDir } : {}) });
      } catch (err) {
        if (err instanceof ConfigError) fail(err.message);
        throw err;
      }
      if (!config.databaseUrl)
        fail(
          'polar worker: set POLAR_DATABASE_URL (PostgreSQL); the embedded database serves one process only',
        );
      if (!config.redisUrl) fail('polar worker: set POLAR_REDIS_URL; workers and nodes meet through Redis');
      // Its own count, not forge/workers.count: that setting sizes the nodes' in-process pools, and
      // a deployment that sets it to 0 (nodes do not train) still wants its worker processes to.
      const concurrency = Number(opts.concurrency);
      if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64)
        fail('polar worker: --concurrency must be a whole number from 1 to 64');
      const { startWorker } = await import('../worker.js');
      let running: Awaited<ReturnType<typeof startWorker>>;
      try {
        running = await startWorker(config, { concurrency });
      } catch (err) {
        return fail(`polar worker: ${(err as Error).message}`);
      }
      const n = running.worker.training.pool.list().length;
      process.stderr.write(
        `Polar worker on ${hostname()} (pid ${process.pid}): ${n} worker${n === 1 ? '' : 's'} ready\n`,
      );
      let stopping: 'drain' | 'now' | undefined;
      const stop = (signal: string) => {
        const how = stopping ? 'now' : 'drain';
        if (stopping === 'now') return;
        stopping = how;
        running.logger.info(
          { signal },
          how === 'drain' ? 'draining: finishing running jobs' : 'stopping now',
        );
        void running.stop(how).then(
          () => process.exit(0),
          (err: unknown) => {
            running.logger.error({ err }, 'worker shutdown failed');
            process.exit(1);
          },
        );
      };
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGTERM', () => stop('SIGTERM'));
    });
}
