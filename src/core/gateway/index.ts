import type { FastifyPluginAsync } from 'fastify';
import type { EgressAllowList } from '../../config.js';
import type { AuditService } from '../../hub/audit/service.js';
import type { SettingsReader } from '../../hub/settings/registry.js';
import { deriveKey } from '../../platform/crypto/keys.js';
import type { Db } from '../../platform/db/client.js';
import type { EventBus } from '../../platform/events/bus.js';
import type { Registry } from '../registry/index.js';
import { createEgressPolicy, type EgressPolicy, type Resolver } from './egress.js';
import { createProviderRepository } from './providers/repository.js';
import { providerRoutes } from './providers/routes.js';
import { createProviderService, type ProviderService } from './providers/service.js';
import { createTransport, type Transport } from './transport.js';

export { GATEWAY_SECTIONS } from './settings.js';

/** What tests (and deployments with their own DNS) may change in how the gateway connects. */
export interface GatewayOptions {
  /** Resolves upstream host names; every answer passes the egress policy before a socket uses it. */
  resolver?: Resolver | undefined;
}

export interface Gateway {
  providers: ProviderService;
  egress: EgressPolicy;
  /** The only way the gateway opens connections to upstreams. */
  transport: Transport;
  /** The gateway's routes, to be registered under /api/v1. */
  routes: FastifyPluginAsync;
  close(): void;
}

/** The gateway: external providers behind the egress policy (routing comes on top of `providers.connect`). */
export function createGateway(deps: {
  db: Db;
  audit: AuditService;
  bus: EventBus;
  settings: SettingsReader;
  registry: Registry;
  masterKey: Buffer;
  egressAllow: EgressAllowList;
  options?: GatewayOptions | undefined;
}): Gateway {
  const egress = createEgressPolicy({
    allow: deps.egressAllow,
    ...(deps.options?.resolver ? { resolver: deps.options.resolver } : {}),
  });
  const transport = createTransport({ egress });
  const providers = createProviderService({
    repo: createProviderRepository(deps.db),
    audit: deps.audit,
    bus: deps.bus,
    key: deriveKey(deps.masterKey, 'gateway-providers'),
    egress,
    transport,
    settings: deps.settings,
    registry: deps.registry,
  });
  const routes: FastifyPluginAsync = async (api) => {
    await api.register(providerRoutes, { providers });
  };
  return { providers, egress, transport, routes, close: () => transport.close() };
}
