import type { FastifyPluginAsync } from 'fastify';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Core } from '../core/compose.js';
import type { AuditService } from '../hub/audit/service.js';
import type { SettingsService } from '../hub/settings/service.js';
import type { Db } from '../platform/db/client.js';
import type { EventBus } from '../platform/events/bus.js';
import { createDatasets, DATASET_SECTIONS, type Datasets } from './datasets/index.js';
import { datasetRoutes } from './datasets/routes.js';
import { createExperiments, type Experiments } from './experiments/index.js';
import { createTraining, TRAINING_SECTIONS, type Training, type TrainingDeps } from './jobs/index.js';
import { pipelineStepChecker } from './jobs/step-check.js';
import { registerTabularRuntime } from './pipelines/index.js';
import { createTrainers, type Trainers } from './trainers/index.js';
import { createTuning, type Tuning } from './tuning/index.js';
import { createBullmqDispatch } from './workers/bullmq.js';

/** Forge's settings sections; the settings service must know them before it loads. */
export const FORGE_SECTIONS = [...DATASET_SECTIONS, ...TRAINING_SECTIONS];

/** What tests (and later plugins) may change in how Forge runs: the trainer, step checks, polling. */
export interface ForgeOptions {
  training?: Partial<Pick<TrainingDeps, 'trainer' | 'checkSteps' | 'pollMs' | 'onSpawn' | 'dispatch'>>;
}

export interface ForgeDeps {
  db: Db;
  audit: AuditService;
  bus: EventBus;
  /** Read by every module; training also follows changes of forge/workers. */
  settings: Pick<SettingsService, 'get' | 'onChange'>;
  log: Logger;
  /** Forge builds on Core: dataset files go to its artifact store, trained models to its registry. */
  core: Core;
  options?: ForgeOptions | undefined;
  /** Seals the environments of external trainers. */
  masterKey: Buffer;
  /** With Redis, training jobs are announced over BullMQ to every process's workers (`polar worker`). */
  redis?: Redis | undefined;
}

export interface Forge {
  datasets: Datasets;
  /** Training jobs and this node's worker pool. */
  training: Training;
  /** Every job is a run of an experiment. */
  experiments: Experiments;
  /** Hyperparameter searches over training jobs. */
  tuning: Tuning;
  /** Admin-approved external trainers that jobs may name. */
  trainers: Trainers;
  /** Forge's routes, to be registered under /api/v1. */
  routes: FastifyPluginAsync;
  /** Stops Forge's background work. */
  close(): Promise<void>;
}

/** Composes Forge's modules over the Hub's services and Core. */
export async function composeForge(config: Config, deps: ForgeDeps): Promise<Forge> {
  const datasets = createDatasets({
    db: deps.db,
    store: deps.core.registry.store,
    registryRepo: deps.core.registry.repo,
    audit: deps.audit,
    bus: deps.bus,
    settings: deps.settings,
    log: deps.log,
    dataDir: config.dataDir,
  });
  // Trained pipelines are served by Forge's appliers: its polar-tabular runtime replaces Core's.
  registerTabularRuntime(deps.core);
  const trainers = createTrainers({
    db: deps.db,
    audit: deps.audit,
    masterKey: deps.masterKey,
    registry: deps.core.registry,
  });
  const queue =
    deps.redis && !deps.options?.training?.dispatch
      ? createBullmqDispatch({ redis: deps.redis, prefix: config.redisPrefix, log: deps.log })
      : undefined;
  const experiments = createExperiments({ db: deps.db, bus: deps.bus, audit: deps.audit, log: deps.log });
  const training = createTraining({
    db: deps.db,
    registry: deps.core.registry,
    audit: deps.audit,
    bus: deps.bus,
    settings: deps.settings,
    log: deps.log,
    dataDir: config.dataDir,
    datasets: { fileFor: datasets.fileFor },
    checkSteps: pipelineStepChecker,
    onDispatched: experiments.recordJob,
    trainers: trainers.hooks,
    ...(queue ? { dispatch: queue } : {}),
    ...deps.options?.training,
  });
  queue?.setCapacity(() => training.pool.list().filter((w) => w.state === 'idle').length);
  const tuning = createTuning({
    db: deps.db,
    bus: deps.bus,
    audit: deps.audit,
    log: deps.log,
    registry: deps.core.registry,
    training,
    experiments,
    datasets: { fileFor: datasets.fileFor },
    checkSteps: deps.options?.training?.checkSteps ?? pipelineStepChecker,
    settings: deps.settings,
  });
  const routes: FastifyPluginAsync = async (api) => {
    await api.register(datasetRoutes, { datasets });
    await api.register(training.routes);
    await api.register(experiments.routes);
    await api.register(tuning.routes);
    await api.register(trainers.routes);
    // The worker pool starts once the whole app is ready, so a node that fails to start claims no job.
    api.addHook('onReady', async () => {
      training.start();
      tuning.start();
    });
  };
  return {
    datasets,
    training,
    experiments,
    tuning,
    trainers,
    routes,
    async close() {
      await tuning.close();
      // Running jobs go back to the queue (attempt returned) for the next start of any node.
      await training.close();
      await queue?.closed();
      // After the pool: releasing jobs moves their runs back to queued.
      await experiments.close();
    },
  };
}
