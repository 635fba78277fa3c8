import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { type AppDeps, buildApp } from './app.js';
import type { Config } from './config.js';
import { loadMasterKey } from './platform/crypto/keys.js';
import { type Database, openDatabase } from './platform/db/client.js';
import { createLogger } from './platform/logger.js';

export interface RunningServer {
  app: FastifyInstance;
  url: string;
  logger: Logger;
  database: Database;
  /** Set only on the very first start, when the admin password was generated. */
  initialAdmin: { username: string; password: string | null } | null;
  close(): Promise<void>;
}

/**
 * Opens storage, migrates, composes the app, creates the first admin, and listens. `extra` seeds
 * initial settings (the benchmark raises the API rate limit this way).
 */
export async function startServer(
  config: Config,
  extra: Pick<AppDeps, 'settingsOverrides'> = {},
): Promise<RunningServer> {
  const logger = await createLogger({
    level: config.logLevel,
    logDir: config.logFiles ? join(config.dataDir, 'logs') : undefined,
  });
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  await database.migrate();
  // Loaded only when configured: ioredis is one of the costliest modules to load at start.
  const redis = config.redisUrl
    ? new (await import('ioredis')).Redis(config.redisUrl, {
        maxRetriesPerRequest: 2,
        enableOfflineQueue: true,
      })
    : undefined;
  redis?.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
  const masterKey = loadMasterKey({ secretKey: config.secretKey, dataDir: config.dataDir });
  const app = await buildApp(config, { ...extra, database, logger, masterKey, redis });
  const initialAdmin = await app.services.auth.bootstrapAdmin({
    username: config.adminUsername,
    password: config.adminPassword,
  });
  const address = await app.listen({ host: config.host, port: config.port });
  let closed = false;
  return {
    app,
    url: address,
    logger,
    database,
    initialAdmin,
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      await database.close();
      redis?.disconnect();
    },
  };
}
