import type { FastifyPluginAsync } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { MaintenanceHooks } from '../hub/admin/maintenance.js';
import type { AuditService } from '../hub/audit/service.js';
import type { SettingsReader } from '../hub/settings/registry.js';
import type { Db } from '../platform/db/client.js';
import type { EventBus } from '../platform/events/bus.js';
import { createArtifactStore } from './artifacts/factory.js';
import type { ArtifactStore } from './artifacts/store.js';
import { createHubImport, type HubImport } from './hub-import/index.js';
import { downloadRoutes } from './hub-import/routes.js';
import { createRegistry, REGISTRY_SECTIONS, type Registry } from './registry/index.js';
import { registryRoutes } from './registry/routes.js';
import { createModelParameters, type ParameterService, parameterRoutes } from './serving/parameters/index.js';

/** Core's settings sections; the settings service must know them before it loads. */
export const CORE_SECTIONS = [...REGISTRY_SECTIONS];

export interface CoreDeps {
  db: Db;
  audit: AuditService;
  bus: EventBus;
  settings: SettingsReader;
  maintenance: MaintenanceHooks;
  log: Logger;
  masterKey: Buffer;
  /** Where model files go; defaults to the store POLAR_ARTIFACT_STORE selects. */
  artifactStore?: ArtifactStore | undefined;
  /** Hub client tuning for imports (tests shorten retries and timeouts). */
  hubClient?: Parameters<typeof createHubImport>[0]['client'];
}

export interface Core {
  registry: Registry;
  hubImport: HubImport;
  /** Per-model generation parameters (stored overrides for the inference layer). */
  parameters: ParameterService;
  /** Core's routes, to be registered under /api/v1. */
  routes: FastifyPluginAsync;
}

/** Composes the model registry and the Hugging Face import over the Hub's services. */
export async function composeCore(config: Config, deps: CoreDeps): Promise<Core> {
  const registry = createRegistry({
    db: deps.db,
    store: deps.artifactStore ?? (await createArtifactStore(config)),
    audit: deps.audit,
    bus: deps.bus,
    settings: deps.settings,
    maintenance: deps.maintenance,
    log: deps.log,
    maxUploadBytes: config.maxUploadBytes,
  });
  const hubImport = createHubImport({
    db: deps.db,
    registry,
    audit: deps.audit,
    bus: deps.bus,
    log: deps.log,
    masterKey: deps.masterKey,
    dataDir: config.dataDir,
    endpoint: config.hfEndpoint,
    ...(deps.hubClient ? { client: deps.hubClient } : {}),
  });
  const parameters = createModelParameters({ db: deps.db, audit: deps.audit, bus: deps.bus });
  const routes: FastifyPluginAsync = async (api) => {
    // Before the registry's /models/:id routes only for readability: the router prefers static paths.
    await api.register(downloadRoutes, { downloads: hubImport.service });
    await api.register(registryRoutes, { registry });
    await api.register(parameterRoutes, { parameters });
  };
  return { registry, hubImport, parameters, routes };
}
