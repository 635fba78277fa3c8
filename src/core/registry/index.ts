import type { Logger } from 'pino';
import { z } from 'zod';
import type { MaintenanceHooks } from '../../hub/admin/maintenance.js';
import type { AuditService } from '../../hub/audit/service.js';
import { defineSection, type SettingsReader } from '../../hub/settings/registry.js';
import type { Db } from '../../platform/db/client.js';
import type { EventBus } from '../../platform/events/bus.js';
import { collectGarbage } from '../artifacts/gc.js';
import type { ArtifactStore } from '../artifacts/store.js';
import { createAliasService } from './aliases.js';
import { createRegistryRepository } from './repository.js';
import type { ModelSummary } from './schema.js';
import { createModelAccess, createModelService } from './service.js';
import { createVersionService } from './versions.js';

export const registryStorageSettings = defineSection({
  scope: 'registry',
  section: 'storage',
  description: 'What the model registry accepts',
  schema: z.strictObject({
    allow_pickle_storage: z
      .boolean()
      .default(false)
      .describe(
        'Store pickle-based weights (.bin, .pt, .pth, .pkl) when an upload asks with allow_pickle=true; Polar never loads them',
      ),
  }),
});

export const REGISTRY_SECTIONS = [registryStorageSettings];

/** The model registry: models, versions and aliases over the database and the artifact store. */
export function createRegistry(deps: {
  db: Db;
  store: ArtifactStore;
  audit: AuditService;
  bus: EventBus;
  settings: SettingsReader;
  maintenance: MaintenanceHooks;
  log: Logger;
  maxUploadBytes: number;
}) {
  const repo = createRegistryRepository(deps.db);
  // Serving is composed after the registry; it plugs its view of loaded models in here.
  let runtimeStatus: (modelId: string) => ModelSummary['status'] | null = () => null;
  let beforeDelete: (modelId: string) => Promise<void> = async () => undefined;
  const base = {
    repo,
    store: deps.store,
    audit: deps.audit,
    bus: deps.bus,
    log: deps.log,
    runtimeStatus: (id: string) => runtimeStatus(id),
    beforeDelete: (id: string) => beforeDelete(id),
  };
  const access = createModelAccess(base);
  const allowPickleStorage = () => deps.settings.get(registryStorageSettings).allow_pickle_storage;
  const registry = {
    repo,
    access,
    store: deps.store,
    setRuntimeStatus(source: (modelId: string) => ModelSummary['status'] | null) {
      runtimeStatus = source;
    },
    setBeforeDelete(hook: (modelId: string) => Promise<void>) {
      beforeDelete = hook;
    },
    allowPickleStorage,
    maxUploadBytes: deps.maxUploadBytes,
    models: createModelService(base, access),
    versions: createVersionService(
      {
        ...base,
        maxUploadBytes: deps.maxUploadBytes,
        allowPickleStorage,
      },
      access,
    ),
    aliases: createAliasService(base, access),
    /** Deletes blobs no version references (sparing recent ones, which may belong to an upload). */
    async collectGarbage(opts: { graceMs?: number } = {}) {
      return collectGarbage(deps.store, await repo.referencedDigests(), opts);
    },
  };
  deps.maintenance.addCleanupTask('clean_models', {
    name: 'unreferenced model blobs',
    run: async () => ({ bytesFreed: (await registry.collectGarbage()).freedBytes }),
  });
  return registry;
}
export type Registry = ReturnType<typeof createRegistry>;
