import cookie from '@fastify/cookie';
import rateLimit from '@fastify/rate-limit';
import websocket from '@fastify/websocket';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { CORE_SECTIONS, type CoreDeps, composeCore } from './core/compose.js';
import type { HubImport } from './core/hub-import/index.js';
import { formatOpenAIError } from './core/openai/errors.js';
import type { Registry } from './core/registry/index.js';
import { composeForge, FORGE_SECTIONS, type Forge, type ForgeOptions } from './forge/compose.js';
import { createMaintenanceHooks, type MaintenanceHooks } from './hub/admin/maintenance.js';
import { createSystemStateRepository } from './hub/admin/repository.js';
import { adminRoutes } from './hub/admin/routes.js';
import { createAdminService } from './hub/admin/service.js';
import { createAuditRepository } from './hub/audit/repository.js';
import { auditRoutes } from './hub/audit/routes.js';
import { type AuditService, createAuditService } from './hub/audit/service.js';
import { authPlugin } from './hub/auth/plugin.js';
import { cachePrincipals } from './hub/auth/principal-cache.js';
import { authRoutes } from './hub/auth/routes.js';
import { type AuthService, createAuthService } from './hub/auth/service.js';
import { startEventPruning } from './hub/events/retention.js';
import { eventRoutes } from './hub/events/routes.js';
import { createEventStream, type EventStream, type EventStreamOptions } from './hub/events/service.js';
import { registerHubChecks } from './hub/health/checks.js';
import { createHealthRegistry, type HealthRegistry } from './hub/health/registry.js';
import { healthRoutes } from './hub/health/routes.js';
import { createHealthService } from './hub/health/service.js';
import { createKeyRepository, createSessionRepository } from './hub/keys/repository.js';
import { keyRoutes } from './hub/keys/routes.js';
import { createKeyService, type KeyService } from './hub/keys/service.js';
import { createMetrics, type Metrics, registerHttpMetrics } from './hub/metrics/metrics.js';
import { createMetricsRepository } from './hub/metrics/repository.js';
import { metricsRoutes } from './hub/metrics/routes.js';
import {
  createSettingsRegistry,
  HUB_SECTIONS,
  loggingSettings,
  type SectionDef,
  securitySettings,
} from './hub/settings/registry.js';
import { createSettingsRepository } from './hub/settings/repository.js';
import { settingsRoutes } from './hub/settings/routes.js';
import { createSettingsService, type SettingsService } from './hub/settings/service.js';
import { createUserRepository } from './hub/users/repository.js';
import { userRoutes } from './hub/users/routes.js';
import { createUserService, type UserService } from './hub/users/service.js';
import { deriveKey } from './platform/crypto/keys.js';
import type { Database } from './platform/db/client.js';
import { createEventBus, type EventBus } from './platform/events/bus.js';
import { createRedisFanout } from './platform/events/redis-fanout.js';
import { registerDocs } from './platform/http/docs.js';
import { registerErrorHandling } from './platform/http/error-handler.js';
import { registerHostGuard } from './platform/http/host-guard.js';
import { registerSecurityHeaders } from './platform/http/security-headers.js';
import { startPeriodic } from './platform/periodic.js';

export interface AppDeps {
  database: Database;
  logger: Logger;
  /** 32-byte master secret (see platform/crypto/keys.ts). */
  masterKey: Buffer;
  /** Shared with other nodes when POLAR_REDIS_URL is set. */
  redis?: Redis | undefined;
  /** Defaults to a bus over the database, fanned out through `redis` when given. */
  bus?: EventBus;
  /** Limits of the /ws stream (tests shorten the heartbeat and buffers). */
  eventStream?: Partial<EventStreamOptions>;
  /** Redis channel the nodes of one deployment share (tests isolate concurrent clusters with it). */
  eventChannel?: string;
  now?: () => Date;
  /** Initial values over the defaults, by `scope/section` (tests raise limits this way). */
  settingsOverrides?: Record<string, Record<string, unknown>>;
  /** Settings sections of components composed outside this file (plugins, tests). */
  settingsSections?: readonly SectionDef[];
  artifactStore?: CoreDeps['artifactStore'];
  hubClient?: CoreDeps['hubClient'];
  /** Runtimes beyond the built-in ones (tests add a scripted one). */
  runtimes?: CoreDeps['runtimes'];
  /** How the gateway resolves upstream host names (tests stage DNS answers). */
  gateway?: CoreDeps['gateway'];
  /** Forge's trainer and worker options (tests run a scripted trainer). */
  forge?: ForgeOptions;
}

export interface Services {
  bus: EventBus;
  events: EventStream;
  audit: AuditService;
  auth: AuthService;
  users: UserService;
  keys: KeyService;
  settings: SettingsService;
  /** Components add their health checks here (model runtimes, providers, workers). */
  health: HealthRegistry;
  /** Components add their Prometheus metrics to `metrics.registry`. */
  metrics: Metrics;
  /** Cleanup tasks, busy checks and the loaded-model report used by the admin operations. */
  maintenance: MaintenanceHooks;
  /** Core's model registry: models, versions, aliases and their artifact store. */
  registry: Registry;
  /** Imports from a Hugging Face hub (POLAR_HF_ENDPOINT). */
  hubImport: HubImport;
  /** Forge: datasets (and the training built on them). */
  forge: Forge;
}

declare module 'fastify' {
  interface FastifyInstance {
    services: Services;
  }
}

const REQUEST_ID_RE = /^[A-Za-z0-9._-]{1,64}$/;

/** Composes every module into one Fastify instance; does not listen. */
export async function buildApp(config: Config, deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: config.bodyLimit,
    trustProxy: config.trustProxy,
    requestIdHeader: 'x-request-id',
    genReqId: (() => {
      let n = 0;
      const prefix = Math.random().toString(36).slice(2, 8);
      return () => `${prefix}-${(++n).toString(36)}`;
    })(),
    routerOptions: { maxParamLength: 500 },
  }).withTypeProvider<ZodTypeProvider>();

  app.addHook('onRequest', async (request, reply) => {
    const incoming = request.headers['x-request-id'];
    if (typeof incoming === 'string' && !REQUEST_ID_RE.test(incoming)) {
      (request as { id: string }).id = `${Math.random().toString(36).slice(2, 10)}`;
    }
    reply.header('x-request-id', request.id);
  });

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // The OpenAI-compatible API answers every error, 401 and unknown paths included, in OpenAI's shape.
  registerErrorHandling(app, [{ prefix: '/v1/', format: formatOpenAIError }]);

  const db = deps.database.db;
  const fanout =
    !deps.bus && deps.redis
      ? createRedisFanout({
          redis: deps.redis,
          log: deps.logger,
          channel: deps.eventChannel ?? `${config.redisPrefix}:events`,
        })
      : undefined;
  const bus = deps.bus ?? createEventBus(db, fanout);
  const audit = createAuditService({ repo: createAuditRepository(db), bus, log: deps.logger });
  const userRepo = createUserRepository(db);
  const sessionRepo = createSessionRepository(db);
  const keyRepo = createKeyRepository(db);
  const settings = await createSettingsService({
    registry: createSettingsRegistry([
      ...HUB_SECTIONS,
      ...CORE_SECTIONS,
      ...FORGE_SECTIONS,
      ...(deps.settingsSections ?? []),
    ]),
    repo: createSettingsRepository(db),
    audit,
    bus,
    log: deps.logger,
    key: deriveKey(deps.masterKey, 'settings'),
    base: deps.settingsOverrides ?? {},
    ...(deps.now ? { now: deps.now } : {}),
  });
  app.addHook('onClose', async () => settings.close());
  // POLAR_LOG_LEVEL sets the level at start; once an admin saves logging/general, that level rules.
  const applyLogLevel = () => {
    deps.logger.level = settings.get(loggingSettings).level;
  };
  if (settings.version(loggingSettings) > 0) applyLogLevel();
  settings.onChange(loggingSettings, applyLogLevel);
  const uncachedAuth = createAuthService({
    users: userRepo,
    sessions: sessionRepo,
    keys: keyRepo,
    audit,
    bus,
    sessionTtlMs: () => settings.get(securitySettings).session_ttl_hours * 3_600_000,
    ...(deps.now ? { now: deps.now } : {}),
  });
  // Principals are cached only where every node hears revocations (see principal-cache.ts): the one
  // embedded node, or nodes that share events through Redis.
  const cachedAuth =
    deps.database.kind === 'pglite' || deps.redis
      ? cachePrincipals(uncachedAuth, { bus, ...(deps.now ? { now: deps.now } : {}) })
      : undefined;
  if (cachedAuth) app.addHook('onClose', async () => cachedAuth.stopCaching());
  const auth: AuthService = cachedAuth ?? uncachedAuth;
  const users = createUserService({ users: userRepo, sessions: sessionRepo, keys: keyRepo, audit, bus });
  const keys = createKeyService({ keys: keyRepo, audit, bus, ...(deps.now ? { now: deps.now } : {}) });
  const events = createEventStream({
    bus,
    // Its periodic re-check exists to catch what no event announced, so it asks the database.
    authenticate: (token) => uncachedAuth.authenticate(token),
    log: deps.logger,
    ...(deps.eventStream ? { options: deps.eventStream } : {}),
  });
  const metrics = createMetrics({
    repo: createMetricsRepository(db),
    log: deps.logger,
    ...(deps.now ? { now: deps.now } : {}),
  });
  registerHttpMetrics(app, metrics);
  const health = createHealthRegistry();
  registerHubChecks(health, { database: deps.database, bus, dataDir: config.dataDir, redis: deps.redis });
  const maintenance = createMaintenanceHooks();
  const admin = createAdminService({
    audit,
    state: createSystemStateRepository(db),
    hooks: maintenance,
    dataDir: config.dataDir,
    log: deps.logger,
    ...(deps.now ? { now: deps.now } : {}),
  });
  const core = await composeCore(config, {
    db,
    audit,
    bus,
    settings,
    maintenance,
    log: deps.logger,
    masterKey: deps.masterKey,
    artifactStore: deps.artifactStore,
    hubClient: deps.hubClient,
    runtimes: deps.runtimes,
    metricsRegistry: metrics.registry,
    gateway: deps.gateway,
  });
  const { registry, hubImport } = core;
  const forge = await composeForge(config, {
    db,
    audit,
    bus,
    settings,
    log: deps.logger,
    core,
    options: deps.forge,
    masterKey: deps.masterKey,
    redis: deps.redis,
  });
  const services: Services = {
    bus,
    events,
    audit,
    auth,
    users,
    keys,
    settings,
    health,
    metrics,
    maintenance,
    registry,
    hubImport,
    forge,
  };
  app.decorate('services', services);

  let stopSessionSweep: (() => Promise<void>) | undefined;
  let stopPruning: (() => Promise<void>) | undefined;
  app.addHook('onReady', async () => {
    await fanout?.ready();
    events.start();
    await hubImport.runner.start();
    stopPruning = startEventPruning({ bus, settings: app.services.settings, log: deps.logger });
    // Expired sessions no longer authenticate; this only keeps the table small.
    stopSessionSweep = startPeriodic({
      name: 'expired session sweep',
      everyMs: 3_600_000,
      log: deps.logger,
      run: async () => {
        const removed = await sessionRepo.deleteExpired();
        if (removed > 0) deps.logger.info({ removed }, 'removed expired sessions');
      },
    });
  });
  // Before @fastify/websocket's own preClose (registered later), so clients see 1001 "shutting down".
  app.addHook('preClose', async () => events.stop());
  // Running downloads stop but stay active, so the next start resumes them from their partial files.
  app.addHook('preClose', async () => hubImport.runner.close());
  app.addHook('onClose', async () => forge.close());
  app.addHook('onClose', async () => core.close());
  app.addHook('onClose', async () => {
    await stopPruning?.();
    await stopSessionSweep?.();
    // A bus passed in belongs to the caller; one made here (and its Redis subscriber) is closed here.
    if (!deps.bus) await bus.close();
  });

  // Registered before any hook that can refuse a request: its own onRequest hook marks upgrade
  // requests, and only marked ones get their socket closed after a refusal (else it leaks).
  // Client messages are small subscription changes; larger ones are refused by ws (close 1009).
  await app.register(websocket, { options: { maxPayload: 16 * 1024 } });
  await registerSecurityHeaders(app);
  registerHostGuard(app, {
    boundHost: config.host,
    allowedHosts: config.allowedHosts,
    allowedOrigins: config.allowedOrigins,
  });
  await app.register(cookie);
  const csrfKey = deriveKey(deps.masterKey, 'csrf');
  await app.register(authPlugin, {
    auth,
    csrfKey,
    metricsToken: config.metricsToken,
    publicPrefixes: ['/docs'],
  });

  await app.register(rateLimit, {
    global: true,
    hook: 'preParsing',
    max: () => settings.get(securitySettings).api_per_minute,
    timeWindow: 60_000,
    keyGenerator: (request) => {
      const p = request.principal;
      if (p?.keyId) return `key:${p.keyId}`;
      if (p) return `user:${p.userId}`;
      return `ip:${request.ip}`;
    },
    ...(deps.redis ? { redis: deps.redis, nameSpace: 'polar:rl:api:' } : {}),
    errorResponseBuilder: (_request, ctx) => {
      const err = new Error(
        `Rate limit exceeded: ${ctx.max} requests per minute; retry in ${ctx.after}`,
      ) as Error & {
        statusCode: number;
      };
      err.statusCode = 429;
      return err;
    },
  });

  await registerDocs(app, { version: '0.1.0' });
  await app.register(eventRoutes, { events });
  await app.register(healthRoutes, { health: createHealthService({ registry: health }) });
  await app.register(metricsRoutes, { metrics });

  await app.register(
    async (api) => {
      await api.register(authRoutes, {
        auth,
        csrfKey,
        cookieSecure: config.cookieSecure,
        loginPerMinute: () => settings.get(securitySettings).login_per_minute,
        users,
      });
      await api.register(userRoutes, { users });
      await api.register(keyRoutes, { keys });
      await api.register(auditRoutes, { audit });
      await api.register(settingsRoutes, { settings });
      await api.register(adminRoutes, { admin });
      await api.register(core.routes);
      await api.register(forge.routes);
    },
    { prefix: '/api/v1' },
  );
  await app.register(core.openaiRoutes, { prefix: '/v1' });

  return app;
}
