import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InjectOptions } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, type TestUser } from '../../../test/helpers/app.js';
import { testDatabase } from '../../../test/helpers/db.js';
import {
  createTrainingApp,
  dispatch,
  FAST_WORKERS,
  getJob,
  isAlive,
  SCRIPTED_TRAINER,
  SMALL_CSV,
  scriptedSpec,
  uploadCsv,
  waitFor,
  waitForJob,
} from '../../../test/helpers/training.js';
import { buildApp } from '../../app.js';
import { loadConfig } from '../../config.js';
import { permissionsOf } from '../../hub/auth/permissions.js';
import type { RequestContext } from '../../hub/auth/principal.js';
import { createJobRegistration } from '../jobs/register.js';
import { trainingSpec } from '../jobs/spec.js';

let t: Awaited<ReturnType<typeof createTrainingApp>>;
let dev: TestUser;
let dataset: { id: string; version: number };

const runsOf = (dataDir: string, jobId: string) => {
  const f = join(dataDir, 'forge', 'jobs', `${jobId}.runs`);
  return existsSync(f) ? readFileSync(f, 'utf8').trim().split('\n').length : 0;
};
const versionsOf = async (name: string) => {
  const res = await t.as(dev.token, { method: 'GET', url: `/api/v1/models/${name}` });
  expect(res.statusCode, res.body).toBe(200);
  return res.json().versions as { version: number; lineage: { job_id?: string } }[];
};
const scale = (count: number) =>
  t.as(t.admin.token, { method: 'POST', url: '/api/v1/workers/scale', payload: { count } });
const training = () => t.app.services.forge.training;
const withToken = (token: string, o: InjectOptions): InjectOptions => ({
  ...o,
  headers: { ...(o.headers ?? {}), authorization: `Bearer ${token}` },
});

beforeAll(async () => {
  t = await createTrainingApp();
  dev = await t.user('developer');
  dataset = await uploadCsv(t, dev.token, SMALL_CSV);
});
afterAll(async () => t?.close());

describe('durability', () => {
  it('a trainer killed with SIGKILL is retried and the job registers exactly one version', async () => {
    const spec = scriptedSpec(dataset, { duration_ms: 2000, ticks: 10 }, { register_as: 'killed-model' });
    const job = await dispatch(t, dev.token, spec);
    await waitFor(() => t.pids.has(job.job_id), 10_000, 'the trainer to start');
    const pid = t.pids.get(job.job_id)?.[0] as number;
    await waitForJob(t, dev.token, job.job_id, (j) => (j.progress as number) > 0);
    process.kill(pid, 'SIGKILL');
    const retrying = await waitForJob(t, dev.token, job.job_id, (j) => j.state !== 'running');
    expect(retrying).toMatchObject({
      state: 'retrying',
      error: { code: 'trainer_crashed', transient: true },
    });
    expect(retrying.error.message).toContain('SIGKILL');
    const done = await waitForJob(t, dev.token, job.job_id);
    expect(done).toMatchObject({ state: 'succeeded', attempts: 2, result: { version: 1 } });
    expect(t.pids.get(job.job_id)).toHaveLength(2);
    expect(runsOf(t.dataDir, job.job_id)).toBe(2);
    const versions = await versionsOf('killed-model');
    expect(versions.filter((v) => v.lineage.job_id === job.job_id)).toHaveLength(1);
    // The node itself is fine: it answers and keeps running jobs.
    expect((await t.app.inject({ method: 'GET', url: '/health/live' })).statusCode).toBeLessThan(500);
  });

  it('a worker that stops heartbeating loses its job when the lease expires; another runs it once', async () => {
    await scale(0);
    const job = await dispatch(t, dev.token, scriptedSpec(dataset, {}, { register_as: 'ghost-model' }));
    // A worker of some other process claims the job and dies without a word.
    const claimed = await training().repo.claim(
      'ghost-worker',
      new Date(),
      FAST_WORKERS.lease_seconds * 1000,
    );
    expect(claimed?.id).toBe(job.job_id);
    await scale(1);
    const requeued = await waitForJob(t, dev.token, job.job_id, (j) => j.state !== 'running', 30_000);
    expect(requeued).toMatchObject({ state: 'retrying', attempts: 1, error: { code: 'worker_lost' } });
    const done = await waitForJob(t, dev.token, job.job_id);
    expect(done).toMatchObject({ state: 'succeeded', attempts: 2 });
    expect(done.worker_id).toBeNull();
    expect(runsOf(t.dataDir, job.job_id)).toBe(1);
    expect(await versionsOf('ghost-model')).toHaveLength(1);
    const logs = await t.as(dev.token, { method: 'GET', url: `/api/v1/training/${job.job_id}/logs` });
    expect(
      logs
        .json()
        .items.map((l: { message: string }) => l.message)
        .join('\n'),
    ).toContain('ghost-worker stopped renewing the lease');
  });

  it('a worker that died after registering but before recording success: the rerun registers nothing new', async () => {
    await scale(0);
    const spec = scriptedSpec(dataset, {}, { register_as: 'half-done-model' });
    const job = await dispatch(t, dev.token, spec);
    const claimed = await training().repo.claim(
      'doomed-worker',
      new Date(),
      FAST_WORKERS.lease_seconds * 1000,
    );
    expect(claimed?.id).toBe(job.job_id);
    // What the doomed worker got done: trained, and registered the output under the job's id.
    const outputDir = join(t.dataDir, 'doomed-output');
    mkdirSync(outputDir, { recursive: true });
    writeFileSync(
      join(outputDir, 'pipeline.json'),
      JSON.stringify({
        format: 'polar-tabular',
        format_version: 1,
        task: 'classification',
        features: [],
        steps: [{ type: 'scripted', params: {} }],
      }),
    );
    const ctx: RequestContext = {
      principal: {
        userId: dev.id,
        username: dev.username,
        role: 'developer',
        permissions: permissionsOf('developer'),
        via: 'session',
      },
      requestId: 'test',
      ip: '',
    };
    const registered = await createJobRegistration(t.app.services.registry).register(ctx, {
      jobId: job.job_id,
      spec: trainingSpec.parse(claimed?.spec),
      datasetId: dataset.id,
      outputDir,
      metrics: { accuracy: 0.5 },
    });
    expect(registered.version).toBe(1);
    await scale(1);
    const done = await waitForJob(t, dev.token, job.job_id);
    expect(done).toMatchObject({ state: 'succeeded', attempts: 2, result: { version: 1 } });
    expect(runsOf(t.dataDir, job.job_id)).toBe(0);
    expect(await versionsOf('half-done-model')).toHaveLength(1);
  });
});

describe('restart', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'polar-restart-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('closing the node puts its running job back in the queue; the next start runs queued and running jobs', async () => {
    const database = await testDatabase();
    const config = loadConfig({ POLAR_DATA_DIR: dataDir, POLAR_LOG_FILES: 'false' });
    const masterKey = randomBytes(32);
    const pids = new Map<string, number>();
    const start = () =>
      buildApp(config, {
        database,
        logger: pino({ level: 'silent' }),
        masterKey,
        settingsOverrides: { 'forge/workers': FAST_WORKERS },
        forge: {
          training: {
            trainer: SCRIPTED_TRAINER,
            checkSteps: async () => [],
            pollMs: 100,
            onSpawn: (jobId, pid) => pids.set(jobId, pid),
          },
        },
      }).then(async (app) => {
        await app.ready();
        return app;
      });
    try {
      const app1 = await start();
      await app1.services.auth.bootstrapAdmin({ username: 'admin', password: ADMIN_PASSWORD });
      const login = await app1.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { username: 'admin', password: ADMIN_PASSWORD },
      });
      const token = login.json().token as string;
      const as = {
        as: (tok: string, o: InjectOptions) => app1.inject(withToken(tok, o)),
      };
      const ds = await uploadCsv(as as never, token, SMALL_CSV);
      const running = await dispatch(as as never, token, scriptedSpec(ds, { duration_ms: 1500 }));
      const queued = await dispatch(as as never, token, scriptedSpec(ds));
      await waitFor(() => pids.has(running.job_id), 10_000, 'the first job to run');
      const pid = pids.get(running.job_id) as number;
      await app1.close();
      // Its trainer is gone and the job waits, attempt given back.
      expect(isAlive(pid)).toBe(false);
      const repo = app1.services.forge.training.repo;
      expect(await repo.get(running.job_id)).toMatchObject({
        state: 'queued',
        attempts: 0,
        leaseOwner: null,
      });
      expect(await repo.get(queued.job_id)).toMatchObject({ state: 'queued', attempts: 0 });

      const app2 = await start();
      try {
        const as2 = {
          as: (tok: string, o: InjectOptions) => app2.inject(withToken(tok, o)),
        };
        for (const id of [running.job_id, queued.job_id])
          expect(await waitForJob(as2 as never, token, id)).toMatchObject({
            state: 'succeeded',
            attempts: 1,
          });
        expect((await getJob(as2 as never, token, running.job_id)).result.version).toBe(1);
      } finally {
        await app2.close();
      }
    } finally {
      await database.close();
    }
  });
});
