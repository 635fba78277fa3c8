import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestUser } from '../../../test/helpers/app.js';
import {
  createTrainingApp,
  dispatch,
  getJob,
  isAlive,
  SMALL_CSV,
  scriptedSpec,
  uploadCsv,
  waitFor,
  waitForJob,
} from '../../../test/helpers/training.js';
import type { PolarEvent } from '../../platform/events/bus.js';

let t: Awaited<ReturnType<typeof createTrainingApp>>;
let dev: TestUser;
let other: TestUser;
let user: TestUser;
let dataset: { id: string; version: number };
const events: PolarEvent[] = [];

const runsOf = (jobId: string) => {
  const f = join(t.dataDir, 'forge', 'jobs', `${jobId}.runs`);
  return existsSync(f) ? readFileSync(f, 'utf8').trim().split('\n').length : 0;
};

beforeAll(async () => {
  t = await createTrainingApp();
  dev = await t.user('developer');
  other = await t.user('developer');
  user = await t.user('user');
  dataset = await uploadCsv(t, dev.token, SMALL_CSV);
  t.app.services.bus.subscribe((e) => events.push(e));
});
afterAll(async () => t?.close());

describe('dispatch', () => {
  it('answers 202 with the queued job, which runs, succeeds and registers a polar-tabular version', async () => {
    const spec = scriptedSpec(dataset, { ticks: 4, duration_ms: 200 }, { register_as: 'scripted-model' });
    const job = await dispatch(t, dev.token, spec);
    expect(job).toMatchObject({
      state: 'queued',
      progress: 0,
      attempts: 0,
      max_attempts: 3,
      owner_id: dev.id,
    });
    const done = await waitForJob(t, dev.token, job.job_id);
    expect(done).toMatchObject({
      state: 'succeeded',
      progress: 100,
      eta_seconds: 0,
      attempts: 1,
      error: null,
      metrics: { accuracy: 0.75 },
      result: { model_name: 'scripted-model', version: 1 },
    });
    const version = await t.as(dev.token, { method: 'GET', url: '/api/v1/models/scripted-model/versions/1' });
    expect(version.statusCode, version.body).toBe(200);
    expect(version.json()).toMatchObject({
      format: 'polar-tabular',
      lineage: { job_id: job.job_id, dataset_version: `${dataset.id}@${dataset.version}` },
      metrics: { accuracy: 0.75 },
      files: [{ path: 'pipeline.json' }],
    });
    const model = await t.as(dev.token, { method: 'GET', url: '/api/v1/models/scripted-model' });
    expect(model.json()).toMatchObject({ task: 'classification', owner_id: dev.id });

    const metrics = await t.as(dev.token, { method: 'GET', url: `/api/v1/training/${job.job_id}/metrics` });
    expect(metrics.json()).toEqual({
      job_id: job.job_id,
      attempt: 1,
      summary: { accuracy: 0.75, attempt: 1 },
      series: [
        {
          name: 'loss',
          points: [
            { step: 1, value: 1 },
            { step: 2, value: 0.5 },
            { step: 3, value: 1 / 3 },
            { step: 4, value: 0.25 },
          ],
        },
      ],
    });
    // Its outputs are registered, so nothing is left in the job's directory.
    expect(existsSync(join(t.dataDir, 'forge', 'jobs', job.job_id))).toBe(false);

    const mine = events.filter((e) => e.topic === 'training' && e.data.job_id === job.job_id);
    expect(mine.every((e) => e.user_id === dev.id)).toBe(true);
    const types = mine.map((e) => e.type);
    for (const type of ['job.queued', 'job.running', 'job.logs', 'job.metrics', 'job.succeeded'])
      expect(types).toContain(type);
    expect(types.indexOf('job.queued')).toBeLessThan(types.indexOf('job.running'));
    expect(types.at(-1)).toBe('job.succeeded');
  });

  it('registers into an existing model of the caller as its next version', async () => {
    const spec = scriptedSpec(dataset, {}, { register_as: 'scripted-model' });
    const done = await waitForJob(t, dev.token, (await dispatch(t, dev.token, spec)).job_id);
    expect(done).toMatchObject({ state: 'succeeded', result: { version: 2 } });
  });

  it('refuses at dispatch a model the caller may not write (403) and another user’s private dataset (404)', async () => {
    const res = await t.as(other.token, {
      method: 'POST',
      url: '/api/v1/training/dispatch',
      payload: scriptedSpec(
        await uploadCsv(t, other.token, SMALL_CSV),
        {},
        { register_as: 'scripted-model' },
      ),
    });
    expect(res.statusCode, res.body).toBe(403);
    expect(res.json().code).toBe('not_model_owner');
    const hidden = await t.as(other.token, {
      method: 'POST',
      url: '/api/v1/training/dispatch',
      payload: scriptedSpec(dataset),
    });
    expect(hidden.statusCode, hidden.body).toBe(404);
  });

  it('400 on an invalid spec, naming the field', async () => {
    const cases: [unknown, string][] = [
      [{ ...scriptedSpec(dataset), steps: [] }, 'body.steps'],
      [{ ...scriptedSpec(dataset), dataset_version: 0 }, 'body.dataset_version'],
      [{ ...scriptedSpec(dataset), task: 'poetry' }, 'body.task'],
      [{ ...scriptedSpec(dataset), evaluation: { test_size: 2 } }, 'body.evaluation.test_size'],
      [{ ...scriptedSpec(dataset), target: undefined }, 'body.target'],
      [{ ...scriptedSpec(dataset), target: 'nope' }, 'body.target'],
      [{ ...scriptedSpec(dataset), features: ['x', 'ghost'] }, 'body.features.1'],
      [{ ...scriptedSpec(dataset), register_as: 'no/slash' }, 'body.register_as'],
    ];
    for (const [payload, path] of cases) {
      const res = await t.as(dev.token, {
        method: 'POST',
        url: '/api/v1/training/dispatch',
        payload: payload as object,
      });
      expect(res.statusCode, `${path}: ${res.body}`).toBe(400);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(
        res.json().errors.map((e: { path: string }) => e.path),
        res.body,
      ).toContain(path);
    }
  });

  it('400 naming an unknown field', async () => {
    const res = await t.as(dev.token, {
      method: 'POST',
      url: '/api/v1/training/dispatch',
      payload: { ...scriptedSpec(dataset), surprise: 1 },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors[0].message).toContain('surprise');
  });

  it('needs training:write (users have none)', async () => {
    const res = await t.as(user.token, {
      method: 'POST',
      url: '/api/v1/training/dispatch',
      payload: scriptedSpec(dataset),
    });
    expect(res.statusCode).toBe(403);
  });
});

describe('reading jobs', () => {
  it('another user’s job is 404 everywhere; admins see it; lists show one’s own', async () => {
    const job = await dispatch(t, dev.token, scriptedSpec(dataset));
    for (const url of ['', '/logs', '/metrics']) {
      const res = await t.as(other.token, { method: 'GET', url: `/api/v1/training/${job.job_id}${url}` });
      expect(res.statusCode, url).toBe(404);
      expect(res.json().code).toBe('training_job_not_found');
    }
    const cancel = await t.as(other.token, { method: 'POST', url: `/api/v1/training/${job.job_id}/cancel` });
    expect(cancel.statusCode).toBe(404);
    expect(
      (await t.as(t.admin.token, { method: 'GET', url: `/api/v1/training/${job.job_id}` })).statusCode,
    ).toBe(200);
    const list = await t.as(other.token, { method: 'GET', url: '/api/v1/training' });
    expect(list.json().items.some((j: { job_id: string }) => j.job_id === job.job_id)).toBe(false);
    const byOwner = await t.as(t.admin.token, { method: 'GET', url: `/api/v1/training?owner=${dev.id}` });
    expect(byOwner.json().items.every((j: { owner_id: string }) => j.owner_id === dev.id)).toBe(true);
    await waitForJob(t, dev.token, job.job_id);
  });

  it('lists newest first with cursor pagination and a state filter', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const q: string = cursor ? `&cursor=${cursor}` : '';
      const res = await t.as(dev.token, { method: 'GET', url: `/api/v1/training?limit=2${q}` });
      expect(res.statusCode).toBe(200);
      const page = res.json();
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((j: { created_at: string }) => j.created_at));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect([...seen].sort().reverse()).toEqual(seen);
    const ok = await t.as(dev.token, { method: 'GET', url: '/api/v1/training?state=succeeded' });
    expect(ok.json().items.every((j: { state: string }) => j.state === 'succeeded')).toBe(true);
    const bad = await t.as(dev.token, { method: 'GET', url: '/api/v1/training?state=sleeping' });
    expect(bad.statusCode).toBe(400);
  });

  it('pages logs with ?after= in order, every line once', async () => {
    const job = await dispatch(t, dev.token, scriptedSpec(dataset, { logs: 25 }));
    await waitForJob(t, dev.token, job.job_id);
    const lines: string[] = [];
    let after = 0;
    let pages = 0;
    for (;;) {
      const res = await t.as(dev.token, {
        method: 'GET',
        url: `/api/v1/training/${job.job_id}/logs?limit=10&after=${after}`,
      });
      expect(res.statusCode).toBe(200);
      const page = res.json();
      pages++;
      lines.push(...page.items.map((l: { message: string }) => l.message));
      if (page.next_after === null) break;
      expect(page.items).toHaveLength(10);
      after = page.next_after;
    }
    expect(pages).toBeGreaterThanOrEqual(3);
    const numbered = lines.filter((l) => /^line \d+$/.test(l));
    expect(numbered).toEqual(Array.from({ length: 25 }, (_, i) => `line ${i + 1}`));
    expect(lines).toContain('a line on stderr');
    expect(lines[0]).toMatch(/^Attempt 1 of 3 on worker /);
    expect(lines.at(-1)).toMatch(/^Registered as version \d+ of /);
  });

  it('keeps at most 10000 log lines per attempt and says how many were left out', async () => {
    const job = await dispatch(t, dev.token, scriptedSpec(dataset, { logs: 10_050 }));
    const done = await waitForJob(t, dev.token, job.job_id, undefined, 60_000);
    const lines: string[] = [];
    for (let after = 0; ; ) {
      const page = (
        await t.as(dev.token, {
          method: 'GET',
          url: `/api/v1/training/${job.job_id}/logs?limit=1000&after=${after}`,
        })
      ).json();
      // The cap is per attempt; a busy machine may have needed a second one.
      for (const l of page.items as { attempt: number; message: string }[])
        if (l.attempt === done.attempts) lines.push(l.message);
      if (page.next_after === null) break;
      after = page.next_after;
    }
    const fromTrainer = lines.filter((l) => /^line \d+$/.test(l) || l === 'a line on stderr');
    expect(fromTrainer).toHaveLength(10_000);
    expect(lines.some((l) => /^Registered as version /.test(l))).toBe(true);
    expect(lines.at(-1)).toBe('51 more lines of the trainer were left out (at most 10000 per attempt)');
  });
});

describe('retries', () => {
  it('retries a transient failure with backoff and then succeeds', async () => {
    const job = await dispatch(t, dev.token, scriptedSpec(dataset, { fail_on_attempts: [1] }));
    const retrying = await waitForJob(
      t,
      dev.token,
      job.job_id,
      (j) => j.state === 'retrying' || j.state === 'succeeded',
    );
    expect(retrying).toMatchObject({
      state: 'retrying',
      error: { code: 'training_failed', transient: true },
    });
    expect(Date.parse(retrying.next_attempt_at) - Date.parse(retrying.updated_at)).toBe(1000);
    const done = await waitForJob(t, dev.token, job.job_id);
    expect(done).toMatchObject({ state: 'succeeded', attempts: 2, error: null });
    expect(runsOf(job.job_id)).toBe(2);
  });

  it('never retries an invalid spec', async () => {
    const job = await dispatch(t, dev.token, scriptedSpec(dataset, { permanent: true }));
    const done = await waitForJob(t, dev.token, job.job_id);
    expect(done).toMatchObject({
      state: 'failed',
      attempts: 1,
      error: { code: 'invalid_pipeline_spec', transient: false },
    });
    expect(runsOf(job.job_id)).toBe(1);
  });

  it('stops after max_attempts crashes', async () => {
    const spec = scriptedSpec(dataset, { crash_on_attempts: [1, 2, 3] }, { resources: { max_attempts: 2 } });
    const done = await waitForJob(t, dev.token, (await dispatch(t, dev.token, spec)).job_id);
    expect(done).toMatchObject({
      state: 'failed',
      attempts: 2,
      max_attempts: 2,
      error: { code: 'trainer_crashed' },
    });
  });

  it('fails a job past its timeout and kills its trainer', async () => {
    const spec = scriptedSpec(dataset, { hang: true }, { resources: { timeout_seconds: 1 } });
    const job = await dispatch(t, dev.token, spec);
    const done = await waitForJob(t, dev.token, job.job_id);
    expect(done).toMatchObject({
      state: 'failed',
      attempts: 1,
      error: { code: 'timeout', transient: false },
    });
    const pid = t.pids.get(job.job_id)?.[0] as number;
    await waitFor(() => !isAlive(pid), 3000, 'the trainer to die');
  });
});

describe('cancel', () => {
  it('cancels a queued job at once; it never runs', async () => {
    await t.as(t.admin.token, { method: 'POST', url: '/api/v1/workers/scale', payload: { count: 0 } });
    try {
      const job = await dispatch(t, dev.token, scriptedSpec(dataset));
      const res = await t.as(dev.token, { method: 'POST', url: `/api/v1/training/${job.job_id}/cancel` });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ state: 'cancelled', attempts: 0 });
      expect(res.json().finished_at).not.toBeNull();
      // Cancelling again answers the same; the job stays cancelled once workers are back.
      const again = await t.as(dev.token, { method: 'POST', url: `/api/v1/training/${job.job_id}/cancel` });
      expect(again.json().state).toBe('cancelled');
      await t.as(t.admin.token, { method: 'POST', url: '/api/v1/workers/scale', payload: { count: 1 } });
      await new Promise((r) => setTimeout(r, 400));
      expect((await getJob(t, dev.token, job.job_id)).state).toBe('cancelled');
      expect(runsOf(job.job_id)).toBe(0);
    } finally {
      await t.as(t.admin.token, { method: 'POST', url: '/api/v1/workers/scale', payload: { count: 1 } });
    }
  });

  it('cancels a running job and kills its trainer within seconds', async () => {
    const job = await dispatch(t, dev.token, scriptedSpec(dataset, { hang: true }));
    await waitFor(() => t.pids.has(job.job_id), 10_000, 'the trainer to start');
    await waitForJob(t, dev.token, job.job_id, (j) => j.state === 'running');
    const pid = t.pids.get(job.job_id)?.[0] as number;
    expect(isAlive(pid)).toBe(true);
    const started = Date.now();
    const res = await t.as(dev.token, { method: 'POST', url: `/api/v1/training/${job.job_id}/cancel` });
    expect(res.json()).toMatchObject({ state: 'cancelled' });
    await waitFor(() => !isAlive(pid), 3000, 'the trainer to die');
    expect(Date.now() - started).toBeLessThan(3000);
    // The worker is free again and the job stays cancelled.
    await waitFor(
      async () => {
        const w = await t.as(t.admin.token, { method: 'GET', url: '/api/v1/workers' });
        return w.json().items.every((x: { state: string }) => x.state === 'idle');
      },
      5000,
      'the worker to be idle',
    );
    expect(await getJob(t, dev.token, job.job_id)).toMatchObject({ state: 'cancelled', error: null });
    const finished = await t.as(dev.token, { method: 'POST', url: `/api/v1/training/${job.job_id}/cancel` });
    expect(finished.statusCode).toBe(200);
  });

  it('409 for a job that already ended otherwise', async () => {
    const job = await dispatch(t, dev.token, scriptedSpec(dataset));
    await waitForJob(t, dev.token, job.job_id);
    const res = await t.as(dev.token, { method: 'POST', url: `/api/v1/training/${job.job_id}/cancel` });
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe('training_job_finished');
  });
});
