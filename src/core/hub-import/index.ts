import { join } from 'node:path';
import type { Logger } from 'pino';
import type { AuditService } from '../../hub/audit/service.js';
import { createUserRepository } from '../../hub/users/repository.js';
import { deriveKey } from '../../platform/crypto/keys.js';
import type { Db } from '../../platform/db/client.js';
import type { EventBus } from '../../platform/events/bus.js';
import type { Registry } from '../registry/index.js';
import type { HubClientOptions } from './client.js';
import { createDownloadRunner } from './jobs.js';
import { createDownloadRepository } from './repository.js';
import { createDownloadService } from './service.js';

/** Imports from a Hugging Face hub: the service behind the routes and the runner of its jobs. */
export function createHubImport(deps: {
  db: Db;
  registry: Registry;
  audit: AuditService;
  bus: EventBus;
  log: Logger;
  masterKey: Buffer;
  dataDir: string;
  endpoint: string;
  /** Tests shorten retries and timeouts. */
  client?: Partial<HubClientOptions>;
  concurrency?: number;
}) {
  const repo = createDownloadRepository(deps.db);
  const tokenKey = deriveKey(deps.masterKey, 'downloads');
  const downloadsDir = join(deps.dataDir, 'downloads');
  const client = { endpoint: deps.endpoint, ...deps.client };
  const runner = createDownloadRunner({
    repo,
    registry: deps.registry,
    bus: deps.bus,
    log: deps.log,
    tokenKey,
    downloadsDir,
    client,
    concurrency: deps.concurrency ?? 2,
    users: createUserRepository(deps.db),
  });
  const service = createDownloadService({
    repo,
    runner,
    audit: deps.audit,
    tokenKey,
    downloadsDir,
    client,
    allowPickle: deps.registry.allowPickleStorage,
    diskReserveBytes: deps.client?.diskReserveBytes ?? 64 * 1024 * 1024,
    ...(deps.client?.statfs ? { statfs: deps.client.statfs } : {}),
  });
  return { service, runner };
}
export type HubImport = ReturnType<typeof createHubImport>;
