import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { Config } from './config.js';
import { createArtifactStore } from './core/artifacts/factory.js';
import { CORE_SECTIONS } from './core/compose.js';
import { createRegistry } from './core/registry/index.js';
import { createDatasets, DATASET_SECTIONS } from './forge/datasets/index.js';
import { createTraining, TRAINING_SECTIONS } from './forge/jobs/index.js';
import { pipelineStepChecker } from './forge/jobs/step-check.js';
import { createTrainers } from './forge/trainers/index.js';
import { createBullmqDispatch } from './forge/workers/bullmq.js';
import { workerSettings } from './forge/workers/settings.js';
import { createMaintenanceHooks } from './hub/admin/maintenance.js';
import { createAuditRepository } from './hub/audit/repository.js';
import { createAuditService } from './hub/audit/service.js';
import { createSettingsRegistry, HUB_SECTIONS, type SectionDef } from './hub/settings/registry.js';
import { createSettingsRepository } from './hub/settings/repository.js';
import { type ChangeListener, createSettingsService, type SettingsService } from './hub/settings/service.js';
import { deriveKey, loadMasterKey } from './platform/crypto/keys.js';
import { type Database, openPostgres } from './platform/db/client.js';
import { createEventBus } from './platform/events/bus.js';
import { createRedisFanout } from './platform/events/redis-fanout.js';
import { createLogger } from './platform/logger.js';

export interface WorkerDeps {
  database: Database;
  logger: Logger;
  /** The deployment's master secret: settings and trainer environments are sealed with it. */
  masterKey: Buffer;
  /** Shared with the nodes: events (cancels, settings changes) and the BullMQ dispatch. */
  redis: Redis;
  /** Workers this process runs; forge/workers.count (the nodes' setting) when absent (tests). */
  concurrency?: number | undefined;
  /** How often idle workers look for work nobody announced (default 2 s). */
  pollMs?: number | undefined;
}

type Settings = Pick<SettingsService, 'get' | 'onChange'>;

/** forge/workers as this process sees it: its own worker count instead of the nodes'. */
function withCount(settings: Settings, count: number | undefined): Settings {
  if (count === undefined) return settings;
  const own = <T>(def: SectionDef, v: T): T => (def === workerSettings ? { ...v, count } : v);
  return {
    get: ((def: SectionDef) => own(def, settings.get(def))) as Settings['get'],
    onChange: <S extends z.ZodObject>(def: SectionDef<S>, l: ChangeListener<S>) =>
      settings.onChange(def, (v, prev) => l(own(def, v), own(def, prev))),
  };
}

/**
 * A training worker without an HTTP server (`polar worker`): Forge's training over the same
 * PostgreSQL and Redis as the nodes. It registers its workers in the workers table (the nodes list
 * them), claims jobs with the same leases, hears cancels and settings changes through the event
 * fan-out, and takes wake-ups from the BullMQ queue. Dataset and model files go through the artifact
 * store, so a worker on another machine needs the same store (S3, or a shared data directory).
 */
export async function buildWorker(config: Config, deps: WorkerDeps) {
  const { db } = deps.database;
  const log = deps.logger;
  const fanout = createRedisFanout({ redis: deps.redis, log, channel: `${config.redisPrefix}:events` });
  const bus = createEventBus(db, fanout);
  const audit = createAuditService({ repo: createAuditRepository(db), bus, log });
  const settings = await createSettingsService({
    registry: createSettingsRegistry([
      ...HUB_SECTIONS,
      ...CORE_SECTIONS,
      ...DATASET_SECTIONS,
      ...TRAINING_SECTIONS,
    ]),
    repo: createSettingsRepository(db),
    audit,
    bus,
    log,
    key: deriveKey(deps.masterKey, 'settings'),
  });
  const registry = createRegistry({
    db,
    store: await createArtifactStore(config),
    audit,
    bus,
    settings,
    maintenance: createMaintenanceHooks(),
    log,
    maxUploadBytes: config.maxUploadBytes,
  });
  const datasets = createDatasets({
    db,
    store: registry.store,
    registryRepo: registry.repo,
    audit,
    bus,
    settings,
    log,
    dataDir: config.dataDir,
  });
  const trainers = createTrainers({ db, audit, masterKey: deps.masterKey, registry });
  const dispatch = createBullmqDispatch({ redis: deps.redis, prefix: config.redisPrefix, log });
  const training = createTraining({
    db,
    registry,
    audit,
    bus,
    settings: withCount(settings, deps.concurrency),
    log,
    dataDir: config.dataDir,
    datasets: { fileFor: datasets.fileFor },
    checkSteps: pipelineStepChecker,
    trainers: trainers.hooks,
    dispatch,
    ...(deps.pollMs ? { pollMs: deps.pollMs } : {}),
  });
  dispatch.setCapacity(() => training.pool.list().filter((w) => w.state === 'idle').length);

  let closed = false;
  return {
    training,
    async start() {
      await fanout.ready();
      await dispatch.ready();
      training.start();
    },
    /** Every worker finishes the job it runs and takes no new one; resolves when all have left. */
    async drain() {
      training.pool.scale(0);
      while (training.pool.list().length > 0) await new Promise((r) => setTimeout(r, 100));
    },
    /** Stops at once: running jobs go back to the queue with their attempt returned. */
    async close() {
      if (closed) return;
      closed = true;
      await training.close();
      await dispatch.closed();
      settings.close();
      await bus.close();
    },
  };
}
export type PolarWorker = Awaited<ReturnType<typeof buildWorker>>;

/** Opens PostgreSQL and Redis from the configuration and starts a worker; `stop` closes it all. */
export async function startWorker(config: Config, opts: { concurrency?: number | undefined } = {}) {
  if (!config.databaseUrl || !config.redisUrl)
    throw new Error('polar worker needs POLAR_DATABASE_URL and POLAR_REDIS_URL');
  const logger = await createLogger({ level: config.logLevel });
  const database = await openPostgres(config.databaseUrl, 4);
  const { applied, expected } = await database.migrationStatus();
  if (applied !== expected) {
    await database.close();
    throw new Error(
      `The database has ${applied} of this version's ${expected} migrations: start polar serve of the same version first`,
    );
  }
  const { Redis } = await import('ioredis');
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 2, enableOfflineQueue: true });
  redis.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
  const masterKey = loadMasterKey({ secretKey: config.secretKey, dataDir: config.dataDir });
  const worker = await buildWorker(config, {
    database,
    logger,
    masterKey,
    redis,
    concurrency: opts.concurrency,
  });
  await worker.start();
  return {
    worker,
    logger,
    async stop(how: 'drain' | 'now') {
      if (how === 'drain') await worker.drain();
      await worker.close();
      await database.close();
      redis.disconnect();
    },
  };
}
