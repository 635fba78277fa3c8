import autocannon from 'autocannon';
import {
  type Benchmark,
  type BenchOptions,
  createBenchDatabase,
  fmt,
  type Section,
  type TargetReady,
  withTarget,
} from './lib.js';

const CONNECTIONS = 10;
/** Unmeasured load before each case, so the JIT and the database caches are warm. */
const WARMUP_S = 1;
/** Enough models that a 50-item page is one of several and the table is not trivially small. */
const MODELS = 200;
const PAGE = 50;
/** Parallel requests while seeding: a few keep the node busy without making PGlite queue deeply. */
const SEED_CONCURRENCY = 4;

interface Measured {
  case: string;
  route: string;
  requests_per_s: number;
  p50_ms: number;
  p99_ms: number;
  requests: number;
  non_2xx: number;
  errors: number;
}

function headers(token: string | undefined): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** Registers one model and uploads one small version, as a client would; returns the model id. */
async function seedModel(api: string, token: string | undefined, i: number): Promise<string> {
  const created = await fetch(`${api}/models`, {
    method: 'POST',
    headers: { ...headers(token), 'content-type': 'application/json' },
    body: JSON.stringify({
      name: `bench-model-${String(i).padStart(4, '0')}`,
      task: 'chat',
      description: `benchmark model ${i}`,
      tags: ['bench', i % 2 ? 'odd' : 'even'],
    }),
  });
  if (created.status !== 201)
    throw new Error(`POST /models answered ${created.status}: ${await created.text()}`);
  const { id } = (await created.json()) as { id: string };
  const form = new FormData();
  form.append('file', new Blob([JSON.stringify({ model_type: 'llama', seed: i })]), 'config.json');
  const version = await fetch(`${api}/models/${encodeURIComponent(id)}/versions`, {
    method: 'POST',
    headers: headers(token),
    body: form,
  });
  if (version.status !== 201) {
    throw new Error(`POST /models/{id}/versions answered ${version.status}: ${await version.text()}`);
  }
  await version.body?.cancel();
  return id;
}

async function seed(api: string, token: string | undefined): Promise<{ ids: string[]; seconds: number }> {
  const t = performance.now();
  const ids: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: SEED_CONCURRENCY }, async () => {
      while (next < MODELS) {
        const i = next++;
        ids.push(await seedModel(api, token, i));
      }
    }),
  );
  return { ids, seconds: (performance.now() - t) / 1000 };
}

/** Load on `paths` in turn (one per request), so a get case reads every model, not one hot row. */
async function load(base: string, paths: string[], token: string | undefined, seconds: number) {
  let n = 0;
  return autocannon({
    url: base,
    connections: CONNECTIONS,
    duration: seconds,
    headers: headers(token),
    requests: [{ setupRequest: (req) => ({ ...req, path: paths[n++ % paths.length] ?? '/' }) }],
  });
}

async function measure(
  name: string,
  route: string,
  base: string,
  paths: string[],
  opts: BenchOptions & { token: string | undefined },
): Promise<Measured> {
  await load(base, paths, opts.token, WARMUP_S);
  const r = await load(base, paths, opts.token, opts.duration);
  return {
    case: name,
    route,
    requests_per_s: r.requests.average,
    p50_ms: r.latency.p50,
    p99_ms: r.latency.p99,
    requests: r.requests.total,
    non_2xx: r.non2xx,
    errors: r.errors,
  };
}

/** Seeds a fresh node and loads its list and get routes. */
async function against(db: string, t: TargetReady, opts: BenchOptions, notes: string[]): Promise<Measured[]> {
  const api = t.url.replace(/\/auth\/me$/, '');
  const { origin, pathname } = new URL(api);
  const { ids, seconds } = await seed(api, t.token);
  notes.push(`${db}: seeded ${ids.length} models with one uploaded version each in ${seconds.toFixed(1)} s`);
  // A list that came back short would make the list case cheaper than it claims to be.
  const page = await fetch(`${api}/models?limit=${PAGE}`, { headers: headers(t.token) });
  const body = (await page.json()) as { items?: unknown[]; data?: unknown[] };
  const items = body.items ?? body.data;
  if (!page.ok || !Array.isArray(items) || items.length !== PAGE) {
    throw new Error(`GET /models?limit=${PAGE} answered ${page.status} with ${items?.length ?? 'no'} items`);
  }
  const withToken = { ...opts, token: t.token };
  return [
    await measure(
      `${db}: list`,
      `GET /api/v1/models?limit=${PAGE}`,
      origin,
      [`${pathname}/models?limit=${PAGE}`],
      withToken,
    ),
    await measure(
      `${db}: get`,
      'GET /api/v1/models/{id}',
      origin,
      ids.map((id) => `${pathname}/models/${encodeURIComponent(id)}`),
      withToken,
    ),
  ];
}

export const registry: Benchmark = {
  name: 'registry',
  async run(opts): Promise<Section> {
    const results: Measured[] = [];
    const notes: string[] = [];
    await withTarget('polar', { POLAR_BENCH_TARGET_DATABASE_URL: '' }, async (t) => {
      if (t.note) notes.push(`PGlite: ${t.note}`);
      results.push(...(await against('PGlite', t, opts, notes)));
    });
    const pgDb = await createBenchDatabase();
    if ('skipped' in pgDb) {
      notes.push(`PostgreSQL rows skipped: ${pgDb.skipped}`);
    } else {
      try {
        await withTarget('polar', { POLAR_BENCH_TARGET_DATABASE_URL: pgDb.url }, async (t) => {
          if (t.note) notes.push(`PostgreSQL: ${t.note}`);
          results.push(...(await against('PostgreSQL', t, opts, notes)));
        });
      } finally {
        await pgDb.drop();
      }
    }
    for (const r of results) {
      if (r.non_2xx > 0 || r.errors > 0)
        notes.push(`${r.case}: ${r.non_2xx} non-2xx responses, ${r.errors} errors`);
    }
    notes.push(
      `${MODELS} models, ${PAGE}-item pages; get cycles through every model id. autocannon, ${CONNECTIONS} connections, API key, ${opts.duration} s per case after ${WARMUP_S} s warm-up, loopback; server in its own process; latency in whole milliseconds.`,
    );
    return {
      title: 'Registry list and get',
      headers: ['case', 'route', 'req/s', 'p50 ms', 'p99 ms'],
      rows: results.map((r) => [
        r.case,
        r.route,
        fmt.int(r.requests_per_s),
        fmt.ms(r.p50_ms),
        fmt.ms(r.p99_ms),
      ]),
      notes,
      data: {
        models: MODELS,
        page: PAGE,
        connections: CONNECTIONS,
        warmup_s: WARMUP_S,
        duration_s: opts.duration,
        cases: results,
      },
    };
  },
};
