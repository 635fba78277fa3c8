import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import type { Logger } from 'pino';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { POLAR_VERSION } from '../health/resources.js';
import { registerHttpSeries } from './http-series.js';
import type { MetricsRepository } from './repository.js';

/** Requests that matched no route share one label so random URLs cannot grow the series count. */
export const UNMATCHED_ROUTE = '(unmatched)';

/** Seconds; spans a cached read (~1 ms) to a slow model call or cleanup (tens of seconds). */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export interface Metrics {
  /** This app's registry; other domains add their own metrics with `registers: [metrics.registry]`. */
  readonly registry: Registry;
  observeRequest(method: string, route: string, status: number, seconds: number): void;
}

/**
 * One registry per app (not prom-client's global one) so several apps in one process, as in the
 * tests, keep separate counts.
 */
export function createMetrics(deps: { repo: MetricsRepository; log: Logger; now?: () => Date }): Metrics {
  const registry = new Registry();
  const now = deps.now ?? (() => new Date());
  collectDefaultMetrics({ register: registry });

  const http = registerHttpSeries(registry, DURATION_BUCKETS);
  new Gauge({
    name: 'polar_info',
    help: 'Always 1; the labels describe this build',
    labelNames: ['version'] as const,
    registers: [registry],
  }).set({ version: POLAR_VERSION }, 1);

  // These gauges query the database on scrape only. A failing query must not fail the whole scrape
  // (process and HTTP metrics matter most when the database is in trouble): the series are dropped
  // and the failure logged.
  const dbGauge = <L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    fill: (gauge: Gauge<L>) => Promise<void>,
  ) =>
    new Gauge<L>({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        try {
          await fill(this);
        } catch (err) {
          this.reset();
          deps.log.warn({ err, metric: name }, 'metric collection failed');
        }
      },
    });
  dbGauge(
    'polar_users',
    'User accounts, by role and whether they are disabled',
    ['role', 'disabled'],
    async (g) => {
      const rows = await deps.repo.usersByRole();
      g.reset();
      for (const r of rows) g.set({ role: r.role, disabled: String(r.disabled) }, r.n);
    },
  );
  dbGauge('polar_sessions_active', 'Login sessions that have not expired', [], async (g) => {
    g.set(await deps.repo.activeSessions(now()));
  });
  dbGauge('polar_api_keys_active', 'API keys neither revoked nor expired', [], async (g) => {
    g.set(await deps.repo.activeKeys(now()));
  });

  return {
    registry,
    observeRequest: (method, route, status, seconds) => http.observe(method, route, status, seconds),
  };
}

/**
 * Records every answer, including 401s, 404s and 429s. Uses Fastify's own start time
 * (`reply.elapsedTime`) so no extra hook runs on the way in.
 */
export function registerHttpMetrics(app: FastifyInstance, metrics: Metrics) {
  app.addHook('onResponse', (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
    metrics.observeRequest(
      request.method,
      request.routeOptions.url ?? UNMATCHED_ROUTE,
      reply.statusCode,
      reply.elapsedTime / 1000,
    );
    done();
  });
}
