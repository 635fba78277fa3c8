import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { Redis } from 'ioredis';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createJobRepository } from '../../src/forge/jobs/repository.js';
import { type Database, openPostgres } from '../../src/platform/db/client.js';
import { isAlive, SMALL_CSV, uploadCsv, waitFor } from '../helpers/training.js';
import { BIN, env, ROOT } from './helpers.js';

const DATABASE_URL = process.env.POLAR_TEST_DATABASE_URL;
const REDIS_URL = process.env.POLAR_TEST_REDIS_URL;
const SCRIPT = join(ROOT, 'test/fixtures/trainers/external.mjs');
const PASSWORD = 'e2e-admin-password';

interface Worker {
  proc: ChildProcess;
  pid: number;
  log: () => string;
  exited: Promise<number | null>;
}
interface JobView {
  job_id: string;
  state: string;
  attempts: number;
  worker_id: string | null;
  progress: number;
  error: { code: string } | null;
  result: { version: number } | null;
}

/**
 * Scale-out for real: a node (in this process) and `polar worker` processes (the compiled CLI) on
 * one PostgreSQL database and one Redis, under a Redis prefix and a database of this run's own.
 * Leases of 2 s and heartbeats of 1 s keep the recovery cases to seconds.
 */
describe.skipIf(!DATABASE_URL || !REDIS_URL)('polar worker processes over PostgreSQL and Redis', () => {
  const prefix = `polar-test-${randomUUID().slice(0, 8)}`;
  const dbName = `polar_w_${process.pid}_${randomBytes(3).toString('hex')}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'polar-workers-'));
  const secret = randomBytes(32).toString('hex');
  let dbUrl: string;
  let database: Database;
  let redis: Redis;
  let app: FastifyInstance;
  let token: string;
  let trainer: string;
  let dataset: { id: string; version: number };
  const workers: Worker[] = [];

  const as = (tok: string, o: InjectOptions) =>
    app.inject({ ...o, headers: { ...o.headers, authorization: `Bearer ${tok}` } });
  const api = { as };
  const call = async (method: string, url: string, payload?: object) => {
    const res = await as(token, {
      method: method as 'GET',
      url: `/api/v1${url}`,
      ...(payload ? { payload } : {}),
    });
    expect(res.statusCode, `${method} ${url}: ${res.body}`).toBeLessThan(300);
    return res.json();
  };
  const job = (id: string): Promise<JobView> => call('GET', `/training/${id}`);
  const until = async (id: string, done: (j: JobView) => boolean, ms = 30_000): Promise<JobView> => {
    const end = Date.now() + ms;
    for (;;) {
      const j = await job(id);
      if (done(j)) return j;
      if (Date.now() > end) throw new Error(`job ${id}: ${JSON.stringify(j)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const ended = (j: JobView) => ['succeeded', 'failed', 'cancelled'].includes(j.state);
  const dispatch = async (params: Record<string, unknown>, name = `job-${randomBytes(3).toString('hex')}`) =>
    (await call('POST', '/training/dispatch', {
      name,
      dataset_id: dataset.id,
      dataset_version: dataset.version,
      task: 'classification',
      trainer,
      params,
    })) as JobView;
  const listWorkers = async () =>
    (await call('GET', '/workers')).items as { id: string; pid: number; state: string; local: boolean }[];
  const pidOf = async (workerId: string) => (await listWorkers()).find((w) => w.id === workerId)?.pid;
  const runsOf = (id: string) => readFileSync(join(dataDir, 'forge', 'jobs', `${id}.runs`), 'utf8');
  const trainerPid = (id: string, ext = 'pid') =>
    Number(readFileSync(join(dataDir, 'forge', 'jobs', `${id}.${ext}`), 'utf8'));
  const workerLines = async (id: string) =>
    ((await call('GET', `/training/${id}/logs?limit=1000`)).items as { message: string }[])
      .map((l) => l.message)
      .filter((m) => m.startsWith('Attempt '));

  const startWorker = async (): Promise<Worker> => {
    const proc = spawn(process.execPath, [BIN, 'worker', '--concurrency', '1'], {
      cwd: ROOT,
      env: env({
        POLAR_DATABASE_URL: dbUrl,
        POLAR_REDIS_URL: REDIS_URL!,
        POLAR_REDIS_PREFIX: prefix,
        POLAR_DATA_DIR: dataDir,
        POLAR_SECRET_KEY: secret,
        POLAR_LOG_LEVEL: 'warn',
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    proc.stdout?.on('data', (d) => {
      out += d;
    });
    proc.stderr?.on('data', (d) => {
      out += d;
    });
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    const w: Worker = { proc, pid: proc.pid as number, log: () => out, exited };
    workers.push(w);
    await waitFor(() => out.includes('ready') || proc.exitCode !== null, 30_000, 'the worker to start');
    if (!out.includes('ready')) throw new Error(`polar worker did not start: ${out}`);
    await waitFor(
      async () => (await listWorkers()).some((x) => x.pid === w.pid),
      10_000,
      'the worker row on the node',
    );
    return w;
  };
  const workerOfPid = (pid: number | undefined) => workers.find((w) => w.pid === pid);

  const startNode = async () => {
    const config = loadConfig({
      POLAR_DATA_DIR: dataDir,
      POLAR_LOG_FILES: 'false',
      POLAR_REDIS_PREFIX: prefix,
    });
    app = await buildApp(config, {
      database,
      logger: pino({ level: 'silent' }),
      masterKey: Buffer.from(secret, 'hex'),
      redis,
      settingsOverrides: { 'security/auth': { login_per_minute: 10_000 } },
    });
    await app.ready();
    await app.services.auth.bootstrapAdmin({ username: 'admin', password: PASSWORD });
    const login = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: 'admin', password: PASSWORD },
    });
    token = login.json().token;
  };

  beforeAll(async () => {
    if (!existsSync(join(ROOT, 'dist/worker.js')))
      throw new Error('Run `npm run build` first (npm test does)');
    const admin = new pg.Client({ connectionString: DATABASE_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${dbName}`);
    await admin.end();
    const u = new URL(DATABASE_URL!);
    u.pathname = `/${dbName}`;
    dbUrl = u.toString();
    database = await openPostgres(dbUrl, 5);
    await database.migrate();
    redis = new Redis(REDIS_URL!);
    await startNode();
    // Stored, so the worker processes read them too; this node runs no worker of its own.
    await call('PUT', '/settings/forge/workers', {
      count: 0,
      lease_seconds: 2,
      heartbeat_seconds: 1,
      backoff_base_seconds: 1,
      backoff_max_seconds: 2,
    });
    trainer = (
      await call('POST', '/trainers', {
        name: 'sleepy',
        command: process.execPath,
        args: [SCRIPT],
        timeout_seconds: 120,
      })
    ).name;
    dataset = await uploadCsv(api as never, token, SMALL_CSV);
    await Promise.all([startWorker(), startWorker()]);
  }, 120_000);

  afterAll(async () => {
    for (const w of workers)
      if (w.proc.exitCode === null && w.proc.signalCode === null) w.proc.kill('SIGKILL');
    await Promise.all(workers.map((w) => w.exited));
    await app?.close();
    await database?.close();
    const keys = (await redis?.keys(`${prefix}:*`)) ?? [];
    if (keys.length > 0) await redis.del(...keys);
    redis?.disconnect();
    const c = new pg.Client({ connectionString: DATABASE_URL });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await c.end();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('the node lists the workers of both processes, from their heartbeats', async () => {
    const list = await listWorkers();
    expect(list).toHaveLength(2);
    expect(new Set(list.map((w) => w.pid))).toEqual(new Set(workers.map((w) => w.pid)));
    for (const w of list) expect(w).toMatchObject({ state: 'idle', local: false });
  });

  it('two workers share the jobs and each job runs exactly once', async () => {
    const jobs = await Promise.all([1, 2, 3, 4].map(() => dispatch({ duration_ms: 800, ticks: 4 })));
    const done = await Promise.all(jobs.map((j) => until(j.job_id, ended)));
    for (const d of done)
      expect(d).toMatchObject({ state: 'succeeded', attempts: 1, result: { version: 1 } });
    for (const j of jobs) expect(runsOf(j.job_id)).toBe('1\n');
    const ranOn = new Set(
      (await Promise.all(jobs.map((j) => workerLines(j.job_id)))).flat().map((l) => l.split(' ').pop()),
    );
    // Both processes took part: with one slot each, four 0.8 s jobs cannot all go to one in time.
    expect(ranOn.size).toBe(2);
  });

  it('cancelling a job that runs in another process stops its trainer within seconds', async () => {
    const j = await dispatch({ hang: true, spawn_child: true });
    await waitFor(
      () => existsSync(join(dataDir, 'forge', 'jobs', `${j.job_id}.child`)),
      20_000,
      'the grandchild',
    );
    const running = await until(j.job_id, (x) => x.state === 'running');
    const w = workerOfPid(await pidOf(running.worker_id as string));
    expect(w).toBeDefined();
    const pid = trainerPid(j.job_id);
    const child = trainerPid(j.job_id, 'child');
    expect(isAlive(pid)).toBe(true);
    const started = Date.now();
    expect((await call('POST', `/training/${j.job_id}/cancel`)).state).toBe('cancelled');
    await waitFor(() => !isAlive(pid) && !isAlive(child), 5000, 'the trainer group to end');
    expect(Date.now() - started).toBeLessThan(5000);
    await waitFor(
      async () => (await listWorkers()).find((x) => x.pid === w?.pid)?.state === 'idle',
      5000,
      'the worker to be idle again',
    );
  });

  it('SIGTERM drains a worker: its job finishes, it takes no new one, it exits', async () => {
    const [a, b] = workers.filter((w) => w.proc.exitCode === null) as [Worker, Worker];
    // One process is kept busy with a job that never ends, the other runs a short one.
    const blocker = await dispatch({ hang: true });
    const held = await until(blocker.job_id, (x) => x.state === 'running');
    const busy = workerOfPid(await pidOf(held.worker_id as string)) as Worker;
    const draining = busy === a ? b : a;
    const short = await dispatch({ duration_ms: 1500, ticks: 5 });
    const onDraining = await until(short.job_id, (x) => x.state === 'running');
    expect(await pidOf(onDraining.worker_id as string)).toBe(draining.pid);
    draining.proc.kill('SIGTERM');
    // The node sees it from its row: draining, still on its job.
    await waitFor(
      async () => (await listWorkers()).find((w) => w.pid === draining.pid)?.state === 'draining',
      5000,
      'the node to see the worker draining',
    );
    const next = await dispatch({ duration_ms: 100 });
    expect(await until(short.job_id, ended)).toMatchObject({ state: 'succeeded', attempts: 1 });
    expect(await draining.exited).toBe(0);
    // Nobody took the job dispatched during the drain: the other worker is still busy.
    expect((await job(next.job_id)).state).toBe('queued');
    expect((await listWorkers()).map((w) => w.pid)).toEqual([busy.pid]);
    await call('POST', `/training/${blocker.job_id}/cancel`);
    expect(await until(next.job_id, ended)).toMatchObject({ state: 'succeeded', attempts: 1 });
    expect(await workerLines(next.job_id)).toEqual([expect.stringContaining(`on worker ${held.worker_id}`)]);
  });

  it('kill -9 of a worker mid-job: the lease expires, another worker finishes it once, one version', async () => {
    await startWorker();
    const j = await dispatch({ duration_ms: 4000, ticks: 20 }, 'killed-mid-job');
    const running = await until(j.job_id, (x) => x.state === 'running' && x.progress > 10, 20_000);
    const victim = workerOfPid(await pidOf(running.worker_id as string)) as Worker;
    const trainerBefore = trainerPid(j.job_id);
    victim.proc.kill('SIGKILL');
    // Its supervisor sees the worker gone and ends the trainer: no orphan trains beside the rerun.
    await waitFor(() => !isAlive(trainerBefore), 5000, 'the orphaned trainer to end');
    const requeued = await until(j.job_id, (x) => x.state !== 'running', 10_000);
    expect(requeued).toMatchObject({ state: 'retrying', error: { code: 'worker_lost' } });
    const done = await until(j.job_id, ended);
    expect(done).toMatchObject({ state: 'succeeded', attempts: 2, result: { version: 1 } });
    expect(runsOf(j.job_id)).toBe('1\n2\n');
    const lines = await workerLines(j.job_id);
    expect(lines).toHaveLength(2);
    expect(lines[1]).not.toContain(running.worker_id as string);
    const model = await call('GET', '/models/killed-mid-job');
    expect(
      model.versions.filter((v: { lineage: { job_id?: string } }) => v.lineage.job_id === j.job_id),
    ).toHaveLength(1);
    // The dead worker's row stops counting once its heartbeat is a lease old.
    await waitFor(
      async () => !(await listWorkers()).some((w) => w.pid === victim.pid),
      10_000,
      'the dead worker to drop',
    );
  });

  it('the node restarts while workers run: no queued or running job is lost, none runs twice', async () => {
    const alive = workers.filter((w) => w.proc.exitCode === null && w.proc.signalCode === null);
    expect(alive).toHaveLength(1);
    const running = await dispatch({ duration_ms: 2000, ticks: 4 });
    await until(running.job_id, (x) => x.state === 'running');
    const queued = await dispatch({ duration_ms: 100 });
    expect((await job(queued.job_id)).state).toBe('queued');
    await app.close();
    const jobs = createJobRepository(database.db);
    await waitFor(
      async () => (await jobs.get(queued.job_id))?.state === 'succeeded',
      30_000,
      'the jobs to finish with the node down',
    );
    await startNode();
    for (const id of [running.job_id, queued.job_id]) {
      expect(await job(id)).toMatchObject({ state: 'succeeded', attempts: 1 });
      expect(runsOf(id)).toBe('1\n');
    }
  });

  it('a pipeline job (the built-in tabular trainer) runs on a worker process as well', async () => {
    const j = (await call('POST', '/training/dispatch', {
      name: 'remote-pipeline',
      dataset_id: dataset.id,
      dataset_version: dataset.version,
      task: 'classification',
      target: 'y',
      steps: [{ type: 'logistic_regression' }],
    })) as JobView;
    const done = await until(j.job_id, ended);
    expect(done).toMatchObject({ state: 'succeeded', attempts: 1, result: { version: 1 } });
    // Run by a worker of a `polar worker` process: the node runs none of its own.
    const remote = (await listWorkers()).filter((w) => !w.local).map((w) => w.id);
    const [line] = await workerLines(j.job_id);
    expect(remote.some((id) => line?.endsWith(`on worker ${id}`))).toBe(true);
    const v = await call('GET', '/models/remote-pipeline/versions/1');
    expect(v).toMatchObject({ format: 'polar-tabular', lineage: { job_id: j.job_id } });
  });
});
