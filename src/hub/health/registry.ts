import type { HealthComponent } from './schema.js';

/**
 * Components report their own health through checks registered here: the Hub registers the
 * database, Redis, the event bus and host resources; later domains (model runtimes, providers,
 * workers) add theirs at composition time. `/health/ready` runs the readiness checks,
 * `/health/detailed` runs them all.
 */
export type ComponentStatus = 'ok' | 'degraded' | 'down';

export interface CheckResult {
  status: ComponentStatus;
  message?: string;
  details?: Record<string, unknown>;
}

export interface HealthCheck {
  name: string;
  /** When true, this component being down makes the node not ready (503 on /health/ready). */
  readiness?: boolean;
  /** When true, this component being down makes the node's overall status `down`. */
  critical?: boolean;
  /** A check that has not answered by then is reported down; defaults to 2 s. */
  timeoutMs?: number;
  check(): Promise<CheckResult> | CheckResult;
}

/** A check's result as reported: always with its latency and (possibly empty) details. */
export type ComponentReport = HealthComponent;

export interface HealthReport {
  status: ComponentStatus;
  components: Record<string, ComponentReport>;
}

export interface HealthRegistry {
  register(check: HealthCheck): void;
  names(): string[];
  /** Runs every check, or only the readiness ones, concurrently. */
  run(opts?: { readinessOnly?: boolean }): Promise<HealthReport>;
}

const DEFAULT_TIMEOUT_MS = 2_000;

async function runOne(c: HealthCheck, clock: () => number): Promise<ComponentReport> {
  const started = clock();
  const timeoutMs = c.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<CheckResult>((resolve) => {
    timer = setTimeout(
      () => resolve({ status: 'down', message: `no answer within ${timeoutMs} ms` }),
      timeoutMs,
    );
    timer.unref();
  });
  let result: CheckResult;
  try {
    result = await Promise.race([Promise.resolve().then(() => c.check()), timeout]);
  } catch (err) {
    result = { status: 'down', message: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
  const latency = Math.round((clock() - started) * 100) / 100;
  return {
    status: result.status,
    latency_ms: latency,
    ...(result.message !== undefined ? { message: result.message } : {}),
    details: result.details ?? {},
  };
}

export function overallStatus(checks: HealthCheck[], reports: ComponentReport[]): ComponentStatus {
  let status: ComponentStatus = 'ok';
  checks.forEach((c, i) => {
    const r = reports[i];
    if (!r || r.status === 'ok') return;
    if (r.status === 'down' && c.critical) status = 'down';
    else if (status === 'ok') status = 'degraded';
  });
  return status;
}

export function createHealthRegistry(clock: () => number = () => performance.now()): HealthRegistry {
  const checks: HealthCheck[] = [];
  return {
    register(check) {
      if (checks.some((c) => c.name === check.name))
        throw new Error(`health check "${check.name}" is already registered`);
      checks.push(check);
    },
    names: () => checks.map((c) => c.name),
    async run(opts = {}) {
      const selected = opts.readinessOnly ? checks.filter((c) => c.readiness) : [...checks];
      const reports = await Promise.all(selected.map((c) => runOne(c, clock)));
      const components: Record<string, ComponentReport> = {};
      selected.forEach((c, i) => {
        components[c.name] = reports[i]!;
      });
      return { status: overallStatus(selected, reports), components };
    },
  };
}
