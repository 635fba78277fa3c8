import { join } from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import type { Logger } from 'pino';
import type { Registry as MetricsRegistry } from 'prom-client';
import type { Config } from '../config.js';
import type { MaintenanceHooks } from '../hub/admin/maintenance.js';
import type { AuditService } from '../hub/audit/service.js';
import type { SettingsReader } from '../hub/settings/registry.js';
import type { Db } from '../platform/db/client.js';
import type { EventBus } from '../platform/events/bus.js';
import { createArtifactStore } from './artifacts/factory.js';
import type { ArtifactStore } from './artifacts/store.js';
import { createGateway, GATEWAY_SECTIONS, type Gateway, type GatewayOptions } from './gateway/index.js';
import { createHubImport, type HubImport } from './hub-import/index.js';
import { downloadRoutes } from './hub-import/routes.js';
import { createChat } from './inference/chat.js';
import { inferenceRoutes } from './inference/routes.js';
import { createInferenceService } from './inference/service.js';
import type { InferenceService } from './inference/types.js';
import { openaiRoutes as openaiRoutesPlugin } from './openai/routes.js';
import { createOpenAI } from './openai/service.js';
import { createRegistry, REGISTRY_SECTIONS, type Registry } from './registry/index.js';
import { registryRoutes } from './registry/routes.js';
import { createRuntimeRegistry, type RuntimeEntry, type RuntimeRegistry } from './runtimes/registry.js';
import { createModelManager, type ModelManager } from './serving/manager.js';
import { createModelParameters, type ParameterService, parameterRoutes } from './serving/parameters/index.js';
import { servingRoutes } from './serving/routes.js';
import { createServingService } from './serving/service.js';
import { runtimeSettings } from './serving/settings.js';
import { parseModelRef, resolveTarget } from './serving/target.js';
import { createUsageRecorder } from './serving/usage/index.js';

/** Core's settings sections; the settings service must know them before it loads. */
export const CORE_SECTIONS = [...REGISTRY_SECTIONS, runtimeSettings, ...GATEWAY_SECTIONS];

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
  /** Runtimes added after the built-in ones (a later entry wins for its formats). */
  runtimes?: RuntimeEntry[] | undefined;
  /** Where inference metrics go (the app's Prometheus registry). */
  metricsRegistry: MetricsRegistry;
  /** How the gateway resolves upstream hosts (tests stage DNS answers). */
  gateway?: GatewayOptions | undefined;
}

export interface Core {
  registry: Registry;
  hubImport: HubImport;
  /** Per-model generation parameters (stored overrides for the inference layer). */
  parameters: ParameterService;
  manager: ModelManager;
  inference: InferenceService;
  /** Forge plugs its tabular pipeline runtime in here. */
  runtimes: RuntimeRegistry;
  /** External providers behind the egress policy. */
  gateway: Gateway;
  /** Core's routes, to be registered under /api/v1. */
  routes: FastifyPluginAsync;
  /** The OpenAI-compatible API, to be registered under /v1. */
  openaiRoutes: FastifyPluginAsync;
  /** Unloads every model and flushes inference records. */
  close(): Promise<void>;
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
  const gateway = createGateway({
    ...deps,
    registry,
    egressAllow: config.egressAllow,
    options: deps.gateway,
  });
  const parameters = createModelParameters({
    db: deps.db,
    audit: deps.audit,
    bus: deps.bus,
    access: registry.access,
  });
  const runtimes = createRuntimeRegistry();
  for (const r of deps.runtimes ?? []) runtimes.register(r);
  const manager = createModelManager({
    repo: registry.repo,
    store: registry.store,
    runtimes,
    settings: deps.settings,
    log: deps.log,
    // Not under cache/: the Hub's clean_cache empties that wholesale, loaded versions included.
    cacheDir: join(config.dataDir, 'runtime', 'versions'),
    onChange: (e, status) =>
      void registry.access
        .publish(e.model, `model.${status}`, { version: e.version.version, status, error: e.error })
        .catch((err) => deps.log.warn({ err }, 'could not publish a model status event')),
  });
  registry.setRuntimeStatus((id) => manager.statusOf(id));
  registry.setBeforeDelete(async (id) => void (await manager.unload(id)));
  deps.maintenance.addCleanupTask('clean_cache', {
    name: 'model files laid out for runtimes',
    run: async () => ({ bytesFreed: await manager.clearCache() }),
  });
  const usage = createUsageRecorder({ db: deps.db, registry: deps.metricsRegistry, log: deps.log });
  const inference = createInferenceService({
    repo: registry.repo,
    access: registry.access,
    manager,
    storedParameters: (id) => parameters.effective(id),
    usage,
    log: deps.log,
    servable: (format) => runtimes.forFormat(format) !== undefined,
  });
  const serving = createServingService({
    repo: registry.repo,
    access: registry.access,
    manager,
    runtimes,
    settings: deps.settings,
  });
  const chat = createChat({ inference, manager, limitMs: 60_000 });
  deps.maintenance.setModelStatusSource(async () => {
    await manager.refreshMemory();
    const loaded = manager.entries().filter((e) => e.status === 'loaded');
    return {
      loaded_model: loaded.map((e) => `${e.model.name}:${e.version.version}`).join(', ') || null,
      model_memory_usage: loaded.reduce((s, e) => s + e.memory, 0),
    };
  });
  deps.maintenance.addBusyCheck('inference', () => {
    const n = manager.busy();
    return n ? `${n} inference request${n > 1 ? 's' : ''} running or waiting` : null;
  });
  const routes: FastifyPluginAsync = async (api) => {
    // Before the registry's /models/:id routes only for readability: the router prefers static paths.
    await api.register(downloadRoutes, { downloads: hubImport.service });
    await api.register(registryRoutes, { registry });
    await api.register(parameterRoutes, { parameters });
    await api.register(servingRoutes, { serving });
    await api.register(inferenceRoutes, { inference, chat });
    await api.register(gateway.routes);
  };
  const openai = createOpenAI({
    inference,
    resolve: (ctx, ref) =>
      resolveTarget({ repo: registry.repo, access: registry.access }, ctx, parseModelRef(ref), {
        allowRetired: true,
      }),
  });
  const openaiRoutes: FastifyPluginAsync = async (v1) => {
    await v1.register(openaiRoutesPlugin, { openai });
  };
  return {
    registry,
    hubImport,
    parameters,
    manager,
    inference,
    runtimes,
    gateway,
    routes,
    openaiRoutes,
    async close() {
      gateway.close();
      await manager.close();
      await usage.close();
    },
  };
}
