import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ArtifactStore } from '../../core/artifacts/store.js';
import type { RegistryRepository } from '../../core/registry/repository.js';
import type { AuditService } from '../../hub/audit/service.js';
import type { SettingsReader } from '../../hub/settings/registry.js';
import type { Db } from '../../platform/db/client.js';
import type { EventBus } from '../../platform/events/bus.js';
import { createDatasetAccess, uploadLimits } from './access.js';
import { createDatasetRepository } from './repository.js';
import { createDatasetService } from './service.js';
import { createUploadService } from './uploads.js';

export { readFrame } from './frame-reader.js';
export type { DatasetFile } from './service.js';
export { DATASET_SECTIONS, datasetSettings } from './settings.js';
export type { DatasetFormat, DatasetKind, SchemaColumn } from './tables.js';

/**
 * Forge's datasets over the database and Core's artifact store. Dataset files are blobs of the
 * same content-addressed store as model files; the registry's repository learns here that dataset
 * versions hold blobs too, so its deletions and garbage collection keep them.
 */
export function createDatasets(deps: {
  db: Db;
  store: ArtifactStore;
  registryRepo: RegistryRepository;
  audit: AuditService;
  bus: EventBus;
  settings: SettingsReader;
  log: Logger;
  dataDir: string;
  now?: () => Date;
}) {
  const repo = createDatasetRepository(deps.db);
  deps.registryRepo.addBlobReferences(repo.blobReferences);
  const base = {
    repo,
    store: deps.store,
    blobs: deps.registryRepo,
    audit: deps.audit,
    bus: deps.bus,
    settings: deps.settings,
    log: deps.log,
    // Outside cache/, which the Hub's clean_cache empties while a training job may be reading.
    filesDir: join(deps.dataDir, 'forge', 'dataset-files'),
    ...(deps.now ? { now: deps.now } : {}),
  };
  const access = createDatasetAccess(base);
  const service = createDatasetService(base, access);
  return {
    repo,
    access,
    service,
    uploads: createUploadService(base, access),
    limits: () => uploadLimits(deps.settings),
    /** For training jobs: a version's file as a local path, under the caller's access rights. */
    fileFor: service.fileFor,
  };
}
export type Datasets = ReturnType<typeof createDatasets>;
