import autocannon from 'autocannon';
import {
  type Benchmark,
  type BenchOptions,
  benchRedis,
  createBenchDatabase,
  fmt,
  type Section,
  type TargetReady,
  withTarget,
} from './lib.js';

const CONNECTIONS = 10;
/** Unmeasured load before each case, so the JIT and the database caches are warm. */
const WARMUP_S = 1;

interface Measured {
  case: string;
  route: string;
  requests_per_s: number;
  p50_ms: number;
  p99_ms: number;
  requests: number;
  expected_status: number;
  unexpected_responses: number;
  errors: number;
}

async function load(url: string, token: string | undefined, seconds: number) {
  return autocannon({
    url,
    connections: CONNECTIONS,
    duration: seconds,
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
}

async function measure(
  name: string,
  route: string,
  target: TargetReady,
  opts: BenchOptions & { token?: string | undefined; expectedStatus: number },
): Promise<Measured> {
  await load(target.url, opts.token, WARMUP_S);
  const r = await load(target.url, opts.token, opts.duration);
  const byClass = r as unknown as Record<string, number>;
  const expectedClass = `${Math.floor(opts.expectedStatus / 100)}xx`;
  const total = r.requests.total;
  return {
    case: name,
    route,
    requests_per_s: r.requests.average,
    p50_ms: r.latency.p50,
    p99_ms: r.latency.p99,
    requests: total,
    expected_status: opts.expectedStatus,
    unexpected_responses: total - (byClass[expectedClass] ?? 0),
    errors: r.errors,
  };
}

export const authRead: Benchmark = {
  name: 'auth-read',
  async run(opts): Promise<Section> {
    const results: Measured[] = [];
    const notes: string[] = [];
    const meRoute = 'GET /api/v1/auth/me (API key)';

    await withTarget('bare', {}, async (t) => {
      results.push(
        await measure('bare Fastify (no auth)', 'GET /hello', t, { ...opts, expectedStatus: 200 }),
      );
    });

    await withTarget('polar', { POLAR_BENCH_TARGET_DATABASE_URL: '' }, async (t) => {
      if (t.note) notes.push(`PGlite: ${t.note}`);
      results.push(
        await measure('Polar on PGlite', meRoute, t, { ...opts, token: t.token, expectedStatus: 200 }),
      );
      // The same node without a credential: every hook runs but no database lookup does, which
      // separates the cost of authentication from the cost of the framework around it.
      results.push(
        await measure('Polar, no token (401, no DB)', 'GET /api/v1/auth/me', t, {
          ...opts,
          expectedStatus: 401,
        }),
      );
    });

    const redis = await benchRedis();
    const onPostgres: { name: string; env: Record<string, string> }[] = [
      { name: 'Polar on PostgreSQL', env: {} },
      // Scale-out mode: rate limits in Redis, events fanned out, so principals are cached again.
      ...('url' in redis
        ? [{ name: 'Polar on PostgreSQL + Redis', env: { POLAR_BENCH_TARGET_REDIS_URL: redis.url } }]
        : []),
    ];
    if ('skipped' in redis) notes.push(`PostgreSQL + Redis row skipped: ${redis.skipped}`);
    for (const c of onPostgres) {
      const pgDb = await createBenchDatabase();
      if ('skipped' in pgDb) {
        notes.push(`PostgreSQL rows skipped: ${pgDb.skipped}`);
        break;
      }
      try {
        await withTarget('polar', { POLAR_BENCH_TARGET_DATABASE_URL: pgDb.url, ...c.env }, async (t) => {
          if (t.note) notes.push(`${c.name}: ${t.note}`);
          results.push(await measure(c.name, meRoute, t, { ...opts, token: t.token, expectedStatus: 200 }));
        });
      } finally {
        await pgDb.drop();
      }
    }

    const bare = results[0]?.requests_per_s ?? 0;
    for (const r of results) {
      if (r.unexpected_responses > 0 || r.errors > 0) {
        notes.push(
          `${r.case}: ${r.unexpected_responses} responses other than ${r.expected_status}, ${r.errors} errors`,
        );
      }
    }
    notes.push(
      `autocannon, ${CONNECTIONS} connections, ${opts.duration} s per case after ${WARMUP_S} s warm-up, loopback; server in its own process; autocannon reports latency in whole milliseconds.`,
    );
    return {
      title: 'Authenticated read vs bare Fastify',
      headers: ['case', 'route', 'req/s', 'p50 ms', 'p99 ms', 'ratio to bare'],
      rows: results.map((r) => [
        r.case,
        r.route,
        fmt.int(r.requests_per_s),
        fmt.ms(r.p50_ms),
        fmt.ms(r.p99_ms),
        bare ? (r.requests_per_s / bare).toFixed(2) : '-',
      ]),
      notes,
      data: { connections: CONNECTIONS, warmup_s: WARMUP_S, duration_s: opts.duration, cases: results },
    };
  },
};
