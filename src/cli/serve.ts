import type { Command } from 'commander';
import { ConfigError, loadConfig } from '../config.js';

export function registerServe(program: Command) {
  program
    .command('serve')
    .description('Start a Polar node (embedded database by default; POLAR_DATABASE_URL for PostgreSQL)')
    .option('--host <host>', 'interface to bind (POLAR_HOST)')
    .option('--port <port>', 'port (POLAR_PORT)')
    .option('--data-dir <dir>', 'data directory (POLAR_DATA_DIR)')
    .action(async (opts: { host?: string; port?: string; dataDir?: string }) => {
      const started = performance.now();
      let config: ReturnType<typeof loadConfig>;
      try {
        config = loadConfig({
          ...process.env,
          ...(opts.host ? { POLAR_HOST: opts.host } : {}),
          ...(opts.port ? { POLAR_PORT: opts.port } : {}),
          ...(opts.dataDir ? { POLAR_DATA_DIR: opts.dataDir } : {}),
        });
      } catch (err) {
        if (err instanceof ConfigError) {
          process.stderr.write(`${err.message}\n`);
          process.exit(2);
        }
        throw err;
      }
      // Loaded here, not at the top: client commands should not pay for the server's modules.
      const { startServer } = await import('../server.js');
      const server = await startServer(config);
      const ms = Math.round(performance.now() - started);
      const db = config.databaseUrl ? 'PostgreSQL' : `embedded (${config.dataDir})`;
      process.stderr.write(`\nPolar is listening on ${server.url}  (database: ${db}, ready in ${ms} ms)\n`);
      process.stderr.write(`API docs: ${server.url}/docs\n`);
      if (server.initialAdmin) {
        const a = server.initialAdmin;
        process.stderr.write(
          a.password
            ? `\nFirst start: created admin user '${a.username}' with password: ${a.password}\nSign in and change it (polar login, then polar passwd).\n\n`
            : `\nFirst start: created admin user '${a.username}' with the password from POLAR_ADMIN_PASSWORD.\n\n`,
        );
      }
      let stopping = false;
      const stop = async (signal: string) => {
        if (stopping) return;
        stopping = true;
        server.logger.info({ signal }, 'shutting down');
        await server.close();
        process.exit(0);
      };
      process.on('SIGINT', () => void stop('SIGINT'));
      process.on('SIGTERM', () => void stop('SIGTERM'));
    });
}
