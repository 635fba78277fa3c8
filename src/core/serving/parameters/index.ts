import type { AuditService } from '../../../hub/audit/service.js';
import type { Db } from '../../../platform/db/client.js';
import type { EventBus } from '../../../platform/events/bus.js';
import { createRegistryRepository } from '../../registry/repository.js';
import { createModelAccess, type ModelAccess } from '../../registry/service.js';
import { createParametersRepository } from './repository.js';
import { createParameterService } from './service.js';

export { parameterRoutes } from './routes.js';
export {
  DEFAULT_PARAMETERS,
  type ModelParameters,
  type ParameterOverrides,
  parameterOverridesSchema,
  resolveParameters,
} from './schema.js';
export type { ParameterService } from './service.js';

/** Per-model generation parameters over the database, with the registry's rules for who may do what. */
export function createModelParameters(deps: {
  db: Db;
  audit: AuditService;
  bus: EventBus;
  /** The registry's access rules; built over `db` and `bus` when not given. */
  access?: ModelAccess;
  now?: () => Date;
}) {
  return createParameterService({
    repo: createParametersRepository(deps.db),
    access: deps.access ?? createModelAccess({ repo: createRegistryRepository(deps.db), bus: deps.bus }),
    audit: deps.audit,
    ...(deps.now ? { now: deps.now } : {}),
  });
}
