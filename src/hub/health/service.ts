import { AppError } from '../../platform/errors.js';
import type { HealthRegistry } from './registry.js';
import { POLAR_VERSION } from './resources.js';
import type { DetailedHealth, Readiness } from './schema.js';

/** Orchestrators back off and probe again; 5 s matches a typical readiness probe period. */
const NOT_READY_RETRY_S = 5;

export class NotReadyError extends AppError {
  constructor(failed: { name: string; message: string }[]) {
    super(503, 'not_ready', `Not ready: ${failed.map((f) => f.name).join(', ')}`, {
      retryAfter: NOT_READY_RETRY_S,
      errors: failed.map((f) => ({ path: f.name, message: f.message })),
    });
  }
}

export function createHealthService(deps: { registry: HealthRegistry; now?: () => Date }) {
  const now = deps.now ?? (() => new Date());
  return {
    /** Answers as long as the process serves HTTP; deliberately touches nothing else. */
    liveness: () => ({ status: 'ok' as const }),

    async readiness(): Promise<Readiness> {
      const report = await deps.registry.run({ readinessOnly: true });
      const failed = Object.entries(report.components)
        .filter(([, c]) => c.status === 'down')
        .map(([name, c]) => ({ name, message: c.message ?? 'down' }));
      if (failed.length > 0) throw new NotReadyError(failed);
      return { status: 'ready', checks: report.components };
    },

    async detailed(): Promise<DetailedHealth> {
      const report = await deps.registry.run();
      return {
        status: report.status,
        version: POLAR_VERSION,
        uptime_seconds: Math.round(process.uptime()),
        checked_at: now().toISOString(),
        components: report.components,
      };
    },
  };
}
export type HealthService = ReturnType<typeof createHealthService>;
