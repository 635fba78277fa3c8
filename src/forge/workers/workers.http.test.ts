import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestUser } from '../../../test/helpers/app.js';
import {
  createTrainingApp,
  dispatch,
  getJob,
  SMALL_CSV,
  scriptedSpec,
  uploadCsv,
  waitFor,
  waitForJob,
} from '../../../test/helpers/training.js';

let t: Awaited<ReturnType<typeof createTrainingApp>>;
let dev: TestUser;
let dataset: { id: string; version: number };

interface W {
  id: string;
  host: string;
  pid: number;
  state: string;
  current_job_id: string | null;
  heartbeat_at: string;
  local: boolean;
}

const workers = async (token = t.admin.token): Promise<W[]> => {
  const res = await t.as(token, { method: 'GET', url: '/api/v1/workers' });
  expect(res.statusCode, res.body).toBe(200);
  return res.json().items;
};
const scale = (count: number) =>
  t.as(t.admin.token, { method: 'POST', url: '/api/v1/workers/scale', payload: { count } });
const command = (id: string, verb: string, token = t.admin.token) =>
  t.as(token, { method: 'POST', url: `/api/v1/workers/${encodeURIComponent(id)}/${verb}` });
const busyWith = async (jobId: string) => (await workers()).find((w) => w.current_job_id === jobId);

beforeAll(async () => {
  t = await createTrainingApp();
  dev = await t.user('developer');
  dataset = await uploadCsv(t, dev.token, SMALL_CSV);
});
afterAll(async () => t?.close());

describe('workers', () => {
  it('lists the pool started with the app: one idle local worker with host and heartbeat', async () => {
    const list = await workers();
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ state: 'idle', current_job_id: null, local: true, pid: process.pid });
    expect(list[0]?.host).toBeTruthy();
    expect(Date.now() - Date.parse(list[0]!.heartbeat_at)).toBeLessThan(5000);
    expect((await workers(dev.token)).length).toBe(1);
  });

  it('scales up and down at run time', async () => {
    const res = await scale(3);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().items).toHaveLength(3);
    expect(await workers()).toHaveLength(3);
    // Three jobs run side by side.
    const jobs = await Promise.all(
      [1, 2, 3].map(() => dispatch(t, dev.token, scriptedSpec(dataset, { duration_ms: 1500 }))),
    );
    await waitFor(
      async () => (await workers()).filter((w) => w.state === 'busy').length === 3,
      10_000,
      'three busy',
    );
    // Going down to one lets the busy workers finish their job first.
    expect((await scale(1)).json().items.length).toBeGreaterThanOrEqual(1);
    for (const j of jobs)
      expect(await waitForJob(t, dev.token, j.job_id)).toMatchObject({ state: 'succeeded' });
    await waitFor(async () => (await workers()).length === 1, 5000, 'one worker left');
  });

  it('shows a busy worker’s job to its owner and to admins only', async () => {
    const other = await t.user('developer');
    const job = await dispatch(t, dev.token, scriptedSpec(dataset, { duration_ms: 1500 }));
    await waitFor(async () => (await busyWith(job.job_id)) !== undefined, 10_000, 'the job to run');
    expect((await workers(dev.token))[0]?.current_job_id).toBe(job.job_id);
    expect((await workers(other.token))[0]).toMatchObject({ state: 'busy', current_job_id: null });
    await waitForJob(t, dev.token, job.job_id);
  });

  it('a draining worker finishes its job and takes no new one until started', async () => {
    const first = await dispatch(t, dev.token, scriptedSpec(dataset, { duration_ms: 1500 }));
    await waitFor(async () => (await busyWith(first.job_id)) !== undefined, 10_000, 'the job to run');
    const w = (await busyWith(first.job_id)) as W;
    const drained = await command(w.id, 'drain');
    expect(drained.statusCode, drained.body).toBe(200);
    expect(drained.json()).toMatchObject({ id: w.id, state: 'draining', current_job_id: first.job_id });
    const second = await dispatch(t, dev.token, scriptedSpec(dataset));
    expect(await waitForJob(t, dev.token, first.job_id)).toMatchObject({ state: 'succeeded' });
    await waitFor(async () => (await workers())[0]?.state === 'stopped', 5000, 'the worker to stop');
    await new Promise((r) => setTimeout(r, 400));
    expect((await getJob(t, dev.token, second.job_id)).state).toBe('queued');
    const started = await command(w.id, 'start');
    expect(started.json()).toMatchObject({ state: 'idle' });
    expect(await waitForJob(t, dev.token, second.job_id)).toMatchObject({ state: 'succeeded' });
  });

  it('stopping a busy worker puts its job back in the queue with the attempt returned', async () => {
    const job = await dispatch(t, dev.token, scriptedSpec(dataset, { hang: true }));
    await waitFor(async () => (await busyWith(job.job_id)) !== undefined, 10_000, 'the job to run');
    await waitFor(() => t.pids.has(job.job_id), 10_000, 'the trainer');
    const w = (await busyWith(job.job_id)) as W;
    const res = await command(w.id, 'stop');
    expect(res.json()).toMatchObject({ state: 'stopped' });
    const back = await waitForJob(t, dev.token, job.job_id, (j) => j.state === 'queued');
    expect(back).toMatchObject({ attempts: 0, worker_id: null });
    await new Promise((r) => setTimeout(r, 300));
    expect((await getJob(t, dev.token, job.job_id)).state).toBe('queued');
    await t.as(dev.token, { method: 'POST', url: `/api/v1/training/${job.job_id}/cancel` });
    expect((await command(w.id, 'start')).json().state).toBe('idle');
  });

  it('refuses bad input and non-admins', async () => {
    expect((await scale(-1)).statusCode).toBe(400);
    expect((await scale(65)).statusCode).toBe(400);
    const missing = await command('no-such-worker', 'drain');
    expect(missing.statusCode).toBe(404);
    expect(missing.json().code).toBe('worker_not_found');
    const w = (await workers())[0] as W;
    for (const verb of ['drain', 'stop', 'start'])
      expect((await command(w.id, verb, dev.token)).statusCode).toBe(403);
    const devScale = await t.as(dev.token, {
      method: 'POST',
      url: '/api/v1/workers/scale',
      payload: { count: 2 },
    });
    expect(devScale.statusCode).toBe(403);
  });

  it('a saved forge/workers.count resizes the pool', async () => {
    const res = await t.as(t.admin.token, {
      method: 'PUT',
      url: '/api/v1/settings/forge/workers',
      payload: { count: 2 },
    });
    expect(res.statusCode, res.body).toBe(200);
    await waitFor(async () => (await workers()).length === 2, 5000, 'two workers');
  });
});
