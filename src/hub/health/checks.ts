import type { Redis } from 'ioredis';
import type { Database } from '../../platform/db/client.js';
import { type EventBus, INTERNAL_TOPIC } from '../../platform/events/bus.js';
import type { HealthCheck, HealthRegistry } from './registry.js';
import { diskUsage, levelOf, memoryUsage, THRESHOLDS } from './resources.js';

const BY_LEVEL = { healthy: 'ok', warning: 'degraded', critical: 'down' } as const;

/** Reachable, and every migration that ships with this build applied. */
export function databaseCheck(database: Database): HealthCheck {
  return {
    name: 'database',
    readiness: true,
    critical: true,
    async check() {
      const kind = database.kind;
      if (!(await database.ping())) return { status: 'down', message: 'not reachable', details: { kind } };
      const migrations = await database.migrationStatus();
      const details = { kind, migrations };
      if (migrations.applied < migrations.expected)
        return {
          status: 'down',
          message: `${migrations.expected - migrations.applied} migration(s) not applied`,
          details,
        };
      return { status: 'ok', details };
    },
  };
}

/** Redis carries rate limits and events between nodes; without it this node still serves. */
export function redisCheck(redis: Redis): HealthCheck {
  return {
    name: 'redis',
    async check() {
      const reply = await redis.ping();
      return {
        status: reply === 'PONG' ? 'ok' : 'degraded',
        details: { connection: redis.status },
      };
    },
  };
}

/**
 * Publishes an internal signal (never stored nor shown to clients), which also goes through the
 * fan-out to other nodes when there is one: a stuck fan-out shows up here as a timeout.
 */
export function eventBusCheck(bus: EventBus): HealthCheck {
  return {
    name: 'event_bus',
    async check() {
      await bus.publish({ topic: INTERNAL_TOPIC, type: 'health.ping', data: {} });
      return { status: 'ok' };
    },
  };
}

export function diskCheck(dataDir: string): HealthCheck {
  return {
    name: 'disk',
    async check() {
      const usage = await diskUsage(dataDir);
      const level = levelOf(usage.usage_percent, THRESHOLDS.disk);
      return {
        status: BY_LEVEL[level],
        ...(level !== 'healthy' ? { message: `data dir filesystem ${usage.usage_percent}% full` } : {}),
        details: { path: dataDir, ...usage },
      };
    },
  };
}

export function memoryCheck(): HealthCheck {
  return {
    name: 'memory',
    check() {
      const usage = memoryUsage();
      const level = levelOf(usage.usage_percent, THRESHOLDS.memory);
      const m = process.memoryUsage();
      return {
        status: BY_LEVEL[level],
        ...(level !== 'healthy' ? { message: `system memory ${usage.usage_percent}% used` } : {}),
        details: { system: usage, process: { rss: m.rss, heap_used: m.heapUsed, external: m.external } },
      };
    },
  };
}

/** The checks every node has; later domains register their own beside these. */
export function registerHubChecks(
  registry: HealthRegistry,
  deps: { database: Database; bus: EventBus; dataDir: string; redis?: Redis | undefined },
) {
  registry.register(databaseCheck(deps.database));
  if (deps.redis) registry.register(redisCheck(deps.redis));
  registry.register(eventBusCheck(deps.bus));
  registry.register(diskCheck(deps.dataDir));
  registry.register(memoryCheck());
}
