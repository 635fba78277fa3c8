/**
 * Training job dispatch through a real `polar serve` (bench/target.ts): how fast the API accepts
 * jobs, how long an idle worker takes to pick one up (dispatch → running), and how many trivial
 * jobs a pool of workers gets through. Measured with the in-process dispatch (embedded mode) and,
 * when a Redis answers, with the BullMQ dispatch that `polar worker` processes share; the database
 * is the embedded one in both, so the dispatch is the only difference.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { ApiClient } from '../src/cli/client.js';
import type { TrainingJob } from '../src/forge/jobs/schema.js';
import type { WorkerList } from '../src/forge/workers/schema.js';
import { type Benchmark, benchRedis, fmt, type Section, withTarget } from './lib.js';

/** Jobs accepted while no worker runs: the API's own rate (validation, insert, audit, event). */
const DISPATCHES = 100;
const DISPATCH_CONCURRENCY = 8;
/** The same one client at a time: a dispatch's own latency, with no queue in front of it. */
const SERIAL_DISPATCHES = 20;
/** Single jobs to an idle worker, one after the other. */
const PICKUPS = 10;
/** A burst of jobs for a pool of workers; two workers on this two-core machine. */
const BURST = 20;
const POOL = 2;
/** Polling the API while waiting; short, so waiting adds little to what is measured. */
const POLL_MS = 20;
const JOB_TIMEOUT_MS = 120_000;
/** A fitted pipeline that takes milliseconds: what is left is the cost of running a job at all. */
const ROWS = 200;

const FINISHED = new Set(['succeeded', 'failed', 'cancelled']);

/** `x,z,y`: two numeric features and a class that depends on them, enough for any classifier. */
function tinyCsv(): string {
  const lines = ['x,z,y'];
  for (let i = 0; i < ROWS; i++) {
    const x = (i * 37) % 101;
    const z = (i * 53) % 89;
    lines.push(`${x},${z},${x + z > 95 ? 'a' : 'b'}`);
  }
  return `${lines.join('\n')}\n`;
}

const spec = (datasetId: string) => ({
  name: 'bench-dispatch',
  dataset_id: datasetId,
  dataset_version: 1,
  task: 'classification',
  target: 'y',
  steps: [{ type: 'standard_scaler' }, { type: 'logistic_regression', config: { max_iter: 50 } }],
  evaluation: { test_size: 0.2, seed: 1 },
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

const ms = (a: string | null, b: string | null) =>
  a && b ? new Date(b).getTime() - new Date(a).getTime() : Number.NaN;

interface ModeResult {
  mode: string;
  dispatch_per_s: number;
  dispatch_p50_ms: number;
  dispatch_p99_ms: number;
  serial_p50_ms: number;
  /** created_at → started_at with a worker idle, by the node's clock. */
  pickup_ms: number[];
  /** started_at → finished_at of those jobs: the trainer process and the registration. */
  run_ms: number[];
  burst_jobs_per_s: number;
  burst_wall_s: number;
  burst_wait_p50_ms: number;
  burst_run_p50_ms: number;
  /** Most jobs seen running at the same moment: the pool was used in full when this is POOL. */
  burst_max_parallel: number;
}

/** The most intervals that overlap at any instant. */
function maxOverlap(spans: readonly (readonly [number, number])[]): number {
  const edges = spans.flatMap(([a, b]) => [
    [a, 1],
    [b, -1],
  ]);
  // At equal times an end comes before a start: a job that ends as the next begins is not parallel.
  edges.sort((x, y) => x[0]! - y[0]! || x[1]! - y[1]!);
  let now = 0;
  let most = 0;
  for (const [, d] of edges) {
    now += d!;
    most = Math.max(most, now);
  }
  return most;
}

async function scaleTo(client: ApiClient, count: number) {
  await client.put('/api/v1/settings/forge/workers', { count });
  const until = Date.now() + 30_000;
  for (;;) {
    const list = await client.get<WorkerList>('/api/v1/workers');
    const local = list.items.filter((w) => w.local && w.state !== 'stopped');
    if (local.length === count && local.every((w) => w.state === 'idle')) return;
    if (Date.now() > until)
      throw new Error(`workers did not settle at ${count}: ${JSON.stringify(list.items)}`);
    await sleep(50);
  }
}

async function waitFinished(client: ApiClient, id: string): Promise<TrainingJob> {
  const until = Date.now() + JOB_TIMEOUT_MS;
  for (;;) {
    const job = await client.get<TrainingJob>(`/api/v1/training/${id}`);
    if (FINISHED.has(job.state)) {
      if (job.state !== 'succeeded') throw new Error(`job ${id} ${job.state}: ${JSON.stringify(job.error)}`);
      return job;
    }
    if (Date.now() > until) throw new Error(`job ${id} still ${job.state} after ${JOB_TIMEOUT_MS} ms`);
    await sleep(POLL_MS);
  }
}

async function uploadDataset(base: string, token: string): Promise<string> {
  const form = new FormData();
  form.append('name', `bench-dispatch-${randomBytes(3).toString('hex')}`);
  form.append('file', new Blob([tinyCsv()]), 'tiny.csv');
  const res = await fetch(`${base}/api/v1/datasets`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    body: form,
  });
  if (res.status !== 201) throw new Error(`dataset upload answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}

/** POSTs `n` dispatches from `concurrency` clients at once; answers the jobs and each request's time. */
async function dispatchMany(client: ApiClient, body: unknown, n: number, concurrency: number) {
  const jobs: TrainingJob[] = [];
  const took: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        next++;
        const t = performance.now();
        jobs.push(await client.post<TrainingJob>('/api/v1/training/dispatch', body));
        took.push(performance.now() - t);
      }
    }),
  );
  return { jobs, took, seconds: (performance.now() - t0) / 1000 };
}

async function measure(mode: string, base: string, token: string): Promise<ModeResult> {
  const client = new ApiClient({ baseUrl: base, token });
  const body = spec(await uploadDataset(base, token));

  // One job first, unmeasured: the trainer's modules are compiled once per node and cached after.
  await scaleTo(client, 1);
  await waitFinished(client, (await client.post<TrainingJob>('/api/v1/training/dispatch', body)).job_id);

  // (a) The API alone: nobody claims, so jobs only queue up; cancelled afterwards.
  await scaleTo(client, 0);
  const burst = await dispatchMany(client, body, DISPATCHES, DISPATCH_CONCURRENCY);
  const serial = await dispatchMany(client, body, SERIAL_DISPATCHES, 1);
  for (const j of [...burst.jobs, ...serial.jobs]) await client.post(`/api/v1/training/${j.job_id}/cancel`);

  // (b) One idle worker, one job at a time.
  await scaleTo(client, 1);
  const pickup: number[] = [];
  const run: number[] = [];
  for (let i = 0; i < PICKUPS; i++) {
    const job = await waitFinished(
      client,
      (await client.post<TrainingJob>('/api/v1/training/dispatch', body)).job_id,
    );
    pickup.push(ms(job.created_at, job.started_at));
    run.push(ms(job.started_at, job.finished_at));
  }

  // (c) A burst for a pool: dispatched as fast as the API takes them, run as workers free up.
  await scaleTo(client, POOL);
  const pooled = await dispatchMany(client, body, BURST, DISPATCH_CONCURRENCY);
  const done = await Promise.all(pooled.jobs.map((j) => waitFinished(client, j.job_id)));
  const first = Math.min(...done.map((j) => new Date(j.created_at).getTime()));
  const last = Math.max(...done.map((j) => new Date(j.finished_at!).getTime()));
  const wall = (last - first) / 1000;

  return {
    mode,
    dispatch_per_s: DISPATCHES / burst.seconds,
    dispatch_p50_ms: percentile(burst.took, 50),
    dispatch_p99_ms: percentile(burst.took, 99),
    serial_p50_ms: percentile(serial.took, 50),
    pickup_ms: pickup,
    run_ms: run,
    burst_jobs_per_s: BURST / wall,
    burst_wall_s: wall,
    burst_run_p50_ms: percentile(
      done.map((j) => ms(j.started_at, j.finished_at)),
      50,
    ),
    burst_max_parallel: maxOverlap(
      done.map((j) => [new Date(j.started_at!).getTime(), new Date(j.finished_at!).getTime()] as const),
    ),
    burst_wait_p50_ms: percentile(
      done.map((j) => ms(j.created_at, j.started_at)),
      50,
    ),
  };
}

async function inMode(mode: string, env: NodeJS.ProcessEnv): Promise<ModeResult> {
  return withTarget('polar', env, async (t) => {
    const base = t.url.replace(/\/api\/v1\/auth\/me$/, '');
    return measure(mode, base, t.token!);
  });
}

/** Removes what a run left under its own prefix (queued wake-ups of the cancelled jobs). */
async function dropPrefix(url: string, prefix: string) {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [nextCursor, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = nextCursor;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

const row = (label: string, results: ModeResult[], value: (r: ModeResult) => string) => [
  label,
  ...results.map(value),
];

export const dispatch: Benchmark = {
  name: 'dispatch',
  async run(): Promise<Section> {
    const notes: string[] = [];
    const results: ModeResult[] = [await inMode('in-process', { POLAR_BENCH_TARGET_REDIS_URL: '' })];
    const redis = await benchRedis(process.env.POLAR_REDIS_URL);
    if ('skipped' in redis) {
      notes.push(`BullMQ column skipped: ${redis.skipped}`);
    } else {
      // A prefix of its own, so neither this run nor anything else sharing the Redis sees the other's queue.
      const prefix = `polar-bench-${process.pid}-${randomBytes(3).toString('hex')}`;
      try {
        results.push(
          await inMode('BullMQ', {
            POLAR_BENCH_TARGET_REDIS_URL: redis.url,
            POLAR_BENCH_TARGET_REDIS_PREFIX: prefix,
          }),
        );
      } finally {
        await dropPrefix(redis.url, prefix).catch(() => {});
      }
    }
    const p = (values: number[], q: number) => fmt.ms(percentile(values, q));
    notes.push(
      `(a) ${DISPATCHES} POST /training/dispatch from ${DISPATCH_CONCURRENCY} clients, then ${SERIAL_DISPATCHES} from one, with no worker running (jobs cancelled after); ` +
        `(b) ${PICKUPS} jobs one at a time to an idle worker, pickup = created_at → started_at by the node's clock; ` +
        `(c) ${BURST} jobs dispatched at once to ${POOL} workers, first created_at to last finished_at.`,
      `The job: standard_scaler and logistic_regression (at most 50 iterations) on ${ROWS} rows × 2 features, registered as a version; ` +
        'each attempt forks a trainer process, from TypeScript sources here (tsx), so run time is mostly process start.',
      'Same embedded database (PGlite) in both columns; the node is a real polar serve in its own process on loopback.',
    );
    return {
      title: 'Training dispatch: throughput and pickup latency',
      headers: ['measure', ...results.map((r) => r.mode)],
      rows: [
        row('(a) dispatch accepted, jobs/s', results, (r) => fmt.int(r.dispatch_per_s)),
        row(
          '(a) POST /training/dispatch p50 / p99 ms',
          results,
          (r) => `${fmt.ms(r.dispatch_p50_ms)} / ${fmt.ms(r.dispatch_p99_ms)}`,
        ),
        row('(a) one client at a time, p50 ms', results, (r) => fmt.ms(r.serial_p50_ms)),
        row(
          '(b) pickup, dispatch → running, p50 / max ms',
          results,
          (r) => `${p(r.pickup_ms, 50)} / ${p(r.pickup_ms, 100)}`,
        ),
        row('(b) run, running → succeeded, p50 ms', results, (r) => p(r.run_ms, 50)),
        row(`(c) burst of ${BURST} on ${POOL} workers, jobs/s`, results, (r) =>
          r.burst_jobs_per_s.toFixed(2),
        ),
        row('(c) queue wait p50 ms', results, (r) => fmt.ms(r.burst_wait_p50_ms)),
        row(
          '(c) run p50 ms, most jobs running at once',
          results,
          (r) => `${fmt.ms(r.burst_run_p50_ms)}, ${r.burst_max_parallel}`,
        ),
      ],
      notes,
      data: {
        dispatches: DISPATCHES,
        dispatch_concurrency: DISPATCH_CONCURRENCY,
        serial_dispatches: SERIAL_DISPATCHES,
        pickups: PICKUPS,
        burst: BURST,
        pool: POOL,
        rows: ROWS,
        modes: results,
      },
    };
  },
};
