import type { FastifyPluginAsync } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Core } from '../core/compose.js';
import type { AuditService } from '../hub/audit/service.js';
import type { SettingsReader } from '../hub/settings/registry.js';
import type { Db } from '../platform/db/client.js';
import type { EventBus } from '../platform/events/bus.js';
import { createDatasets, DATASET_SECTIONS, type Datasets } from './datasets/index.js';
import { datasetRoutes } from './datasets/routes.js';

/** Forge's settings sections; the settings service must know them before it loads. */
export const FORGE_SECTIONS = [...DATASET_SECTIONS];

export interface ForgeDeps {
  db: Db;
  audit: AuditService;
  bus: EventBus;
  settings: SettingsReader;
  log: Logger;
  /** Forge builds on Core: dataset files go to its artifact store, trained models to its registry. */
  core: Core;
}

export interface Forge {
  datasets: Datasets;
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
  const routes: FastifyPluginAsync = async (api) => {
    await api.register(datasetRoutes, { datasets });
  };
  return {
    datasets,
    routes,
    async close() {},
  };
}
