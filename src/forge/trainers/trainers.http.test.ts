import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tinyOnnxClassifier } from '../../../test/fixtures/models/onnx.js';
import type { TestUser } from '../../../test/helpers/app.js';
import {
  createTrainingApp,
  dispatch,
  isAlive,
  SMALL_CSV,
  uploadCsv,
  waitFor,
  waitForJob,
} from '../../../test/helpers/training.js';
import { trainers } from './tables.js';

const SCRIPT = fileURLToPath(new URL('../../../test/fixtures/trainers/external.mjs', import.meta.url));
const TOKEN = 'hf_test_Zq81_very_secret_token';

let t: Awaited<ReturnType<typeof createTrainingApp>>;
let dev: TestUser;
let dataset: { id: string; version: number };

const jobsDir = () => join(t.dataDir, 'forge', 'jobs');
const beside = (jobId: string, ext: string) => join(jobsDir(), `${jobId}.${ext}`);
const readPid = (jobId: string, ext: 'pid' | 'child') => Number(readFileSync(beside(jobId, ext), 'utf8'));

const register = async (body: Record<string, unknown>, token = t.admin.token) =>
  t.as(token, { method: 'POST', url: '/api/v1/trainers', payload: body });

/** Registers the test trainer under a fresh name (admin) and answers the name. */
const trainer = async (extra: Record<string, unknown> = {}) => {
  const name = `tr-${Math.random().toString(36).slice(2, 8)}`;
  const res = await register({
    name,
    command: process.execPath,
    args: [SCRIPT, '--data', '{dataset_path}', '--out={output_dir}', '{job_id}'],
    env: { TRAINER_TOKEN: TOKEN },
    timeout_seconds: 60,
    ...extra,
  });
  expect(res.statusCode, res.body).toBe(201);
  return name;
};

const spec = (name: string, params: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
  name: `ext-${Math.random().toString(36).slice(2, 8)}`,
  dataset_id: dataset.id,
  dataset_version: dataset.version,
  task: 'classification',
  trainer: name,
  params,
  ...extra,
});

const logsOf = async (jobId: string) => {
  const res = await t.as(dev.token, { method: 'GET', url: `/api/v1/training/${jobId}/logs?limit=1000` });
  return (res.json().items as { message: string; level: string }[]).map((l) => `${l.level} ${l.message}`);
};

beforeAll(async () => {
  t = await createTrainingApp();
  dev = await t.user('developer');
  dataset = await uploadCsv(t, dev.token, SMALL_CSV);
});
afterAll(async () => t?.close());

describe('trainer catalog', () => {
  it('admins register trainers; developers list and get them without command, arguments or environment', async () => {
    const name = await trainer({
      description: 'Test trainer',
      output_format: 'auto',
      task: 'classification',
    });
    const asAdmin = await t.as(t.admin.token, { method: 'GET', url: `/api/v1/trainers/${name}` });
    expect(asAdmin.statusCode).toBe(200);
    expect(asAdmin.json()).toMatchObject({
      name,
      command: process.execPath,
      args: [SCRIPT, '--data', '{dataset_path}', '--out={output_dir}', '{job_id}'],
      env: { TRAINER_TOKEN: '••••oken' },
      output_format: 'auto',
      task: 'classification',
      timeout_seconds: 60,
      created_by: t.admin.id,
    });
    expect(asAdmin.body).not.toContain(TOKEN);

    const list = await t.as(dev.token, { method: 'GET', url: '/api/v1/trainers' });
    expect(list.statusCode).toBe(200);
    const mine = list.json().items.find((x: { name: string }) => x.name === name);
    expect(mine).toMatchObject({ name, description: 'Test trainer', output_format: 'auto' });
    for (const hidden of ['command', 'args', 'env', 'created_by']) expect(mine).not.toHaveProperty(hidden);
    const one = await t.as(dev.token, { method: 'GET', url: `/api/v1/trainers/${asAdmin.json().id}` });
    expect(one.statusCode).toBe(200);
    expect(one.json()).not.toHaveProperty('command');
    expect(one.body).not.toContain(process.execPath);

    expect((await register({ name: 'mine', command: '/bin/sh' }, dev.token)).statusCode).toBe(403);
    const edit = await t.as(dev.token, {
      method: 'PATCH',
      url: `/api/v1/trainers/${name}`,
      payload: { command: '/bin/sh' },
    });
    expect(edit.statusCode).toBe(403);
    const user = await t.user('user');
    expect((await t.as(user.token, { method: 'GET', url: '/api/v1/trainers' })).statusCode).toBe(403);
    expect((await t.as(dev.token, { method: 'GET', url: '/api/v1/trainers/nope' })).json().code).toBe(
      'trainer_not_found',
    );
  });

  it('refuses unknown placeholders, POLAR_* variables and a taken name', async () => {
    const typo = await register({ name: 'typo', command: 'python3', args: ['{dataset}'] });
    expect(typo.statusCode).toBe(400);
    expect(typo.json().errors[0]).toMatchObject({ path: 'body.args.0' });
    expect(typo.json().errors[0].message).toContain('{dataset}');
    const reserved = await register({ name: 'res', command: 'python3', env: { POLAR_SECRET_KEY: 'x' } });
    expect(reserved.statusCode).toBe(400);
    const badName = await register({ name: 'res', command: 'python3', env: { 'A-B': 'x' } });
    expect(badName.statusCode).toBe(400);
    const name = await trainer();
    const again = await register({ name: name.toUpperCase(), command: 'python3' });
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe('trainer_name_taken');
  });

  it('stores environment values encrypted; a value sent back masked is kept, a stale mask refused', async () => {
    const name = await trainer();
    const [row] = await t.database.db.select().from(trainers).where(eq(trainers.name, name));
    expect(JSON.stringify(row?.env)).not.toContain(TOKEN);
    expect(row?.env.TRAINER_TOKEN).toMatch(/^v1\./);

    const kept = await t.as(t.admin.token, {
      method: 'PATCH',
      url: `/api/v1/trainers/${name}`,
      payload: { env: { TRAINER_TOKEN: '••••oken', OTHER: 'plain-value-2' }, timeout_seconds: 30 },
    });
    expect(kept.statusCode, kept.body).toBe(200);
    expect(kept.json()).toMatchObject({
      env: { TRAINER_TOKEN: '••••oken', OTHER: '••••e-2' },
      timeout_seconds: 30,
    });
    const stale = await t.as(t.admin.token, {
      method: 'PATCH',
      url: `/api/v1/trainers/${name}`,
      payload: { env: { TRAINER_TOKEN: '••••zzzz' } },
    });
    expect(stale.statusCode).toBe(400);
    expect(stale.json().code).toBe('secret_is_mask');
    // The job sees the value itself.
    const job = await dispatch(t, dev.token, spec(name));
    expect(await waitForJob(t, dev.token, job.job_id)).toMatchObject({ state: 'succeeded' });
    const seen = JSON.parse(readFileSync(beside(job.job_id, 'env.json'), 'utf8'));
    expect(seen.env).toMatchObject({ TRAINER_TOKEN: TOKEN, OTHER: 'plain-value-2' });

    const audit = await t.as(t.admin.token, { method: 'GET', url: '/api/v1/audit?limit=200' });
    expect(audit.body).toContain('trainer.update');
    expect(audit.body).not.toContain(TOKEN);
    expect(audit.body).not.toContain('plain-value-2');

    const del = await t.as(t.admin.token, { method: 'DELETE', url: `/api/v1/trainers/${name}` });
    expect(del.statusCode).toBe(204);
    expect((await t.as(t.admin.token, { method: 'GET', url: `/api/v1/trainers/${name}` })).statusCode).toBe(
      404,
    );
  });
});

describe('jobs that name a trainer', () => {
  it('run it with the contract’s inputs, keep its reports and register its output directory once', async () => {
    const name = await trainer();
    const job = await dispatch(
      t,
      dev.token,
      spec(name, { ticks: 3, duration_ms: 150 }, { register_as: 'ext-json' }),
    );
    const done = await waitForJob(t, dev.token, job.job_id);
    expect(done).toMatchObject({
      state: 'succeeded',
      attempts: 1,
      result: { model_name: 'ext-json', version: 1 },
      metrics: { accuracy: 0.8, rows: 20 },
    });

    const seen = JSON.parse(readFileSync(beside(job.job_id, 'env.json'), 'utf8'));
    const env = seen.env as Record<string, string>;
    expect(env.POLAR_JOB_ID).toBe(job.job_id);
    expect(env.POLAR_ATTEMPT).toBe('1');
    expect(env.POLAR_DATASET_FORMAT).toBe('csv');
    expect(readFileSync(env.POLAR_DATASET_PATH as string, 'utf8')).toBe(SMALL_CSV);
    expect(env.POLAR_OUTPUT_DIR).toBe(join(jobsDir(), job.job_id));
    expect(seen.argv).toEqual([
      '--data',
      env.POLAR_DATASET_PATH,
      `--out=${env.POLAR_OUTPUT_DIR}`,
      job.job_id,
    ]);
    expect(seen.cwd).toBe(`${env.POLAR_OUTPUT_DIR}.work`);
    // Nothing of the node's own environment but what finds programs and locales.
    const polar = Object.keys(env)
      .filter((k) => k.startsWith('POLAR_'))
      .sort();
    expect(polar).toEqual([
      'POLAR_ATTEMPT',
      'POLAR_DATASET_FORMAT',
      'POLAR_DATASET_PATH',
      'POLAR_JOB_ID',
      'POLAR_OUTPUT_DIR',
      'POLAR_PARAMS_PATH',
    ]);
    expect(Object.keys(env).filter((k) => !k.startsWith('POLAR_') && k !== 'TRAINER_TOKEN')).toEqual(
      expect.arrayContaining(['PATH']),
    );
    expect(env.NODE_OPTIONS).toBeUndefined();
    expect(env.VITEST).toBeUndefined();
    // The inputs and outputs are gone once registered.
    expect(existsSync(env.POLAR_OUTPUT_DIR as string)).toBe(false);
    expect(existsSync(`${env.POLAR_OUTPUT_DIR}.work`)).toBe(false);

    const logs = await logsOf(job.job_id);
    expect(logs).toEqual(
      expect.arrayContaining([
        'info plain line: 20 rows of csv',
        'warn a line on stderr',
        'info reading params',
      ]),
    );
    const metrics = await t.as(dev.token, { method: 'GET', url: `/api/v1/training/${job.job_id}/metrics` });
    expect(metrics.json().series).toEqual([
      {
        name: 'loss',
        points: [
          { step: 1, value: 1 },
          { step: 2, value: 0.5 },
          { step: 3, value: 1 / 3 },
        ],
      },
    ]);

    const v = await t.as(dev.token, { method: 'GET', url: '/api/v1/models/ext-json/versions/1' });
    expect(v.statusCode, v.body).toBe(200);
    expect(v.json()).toMatchObject({
      format: 'other',
      lineage: { job_id: job.job_id, dataset_version: `${dataset.id}@${dataset.version}` },
      metrics: { accuracy: 0.8 },
    });
    expect(v.json().files.map((f: { path: string }) => f.path)).toEqual(['model.json', 'notes/README.txt']);
    const model = await t.as(dev.token, { method: 'GET', url: '/api/v1/models/ext-json' });
    expect(model.json()).toMatchObject({ task: 'classification', tags: ['forge', `trainer:${name}`] });
  });

  it('registers ONNX outputs as onnx and polar-tabular ones as polar-tabular; a broken promise fails the job', async () => {
    const onnxPath = join(t.dataDir, 'tiny.onnx');
    writeFileSync(onnxPath, tinyOnnxClassifier());
    const onnx = await trainer({ output_format: 'onnx' });
    const a = await dispatch(
      t,
      dev.token,
      spec(onnx, { output: 'onnx', onnx_path: onnxPath }, { register_as: 'ext-onnx' }),
    );
    expect(await waitForJob(t, dev.token, a.job_id)).toMatchObject({ state: 'succeeded' });
    const va = await t.as(dev.token, { method: 'GET', url: '/api/v1/models/ext-onnx/versions/1' });
    expect(va.json()).toMatchObject({ format: 'onnx', files: [{ path: 'model.onnx' }] });

    const tabular = await trainer({ output_format: 'polar-tabular' });
    const b = await dispatch(
      t,
      dev.token,
      spec(tabular, { output: 'tabular' }, { register_as: 'ext-tabular' }),
    );
    expect(await waitForJob(t, dev.token, b.job_id)).toMatchObject({ state: 'succeeded' });
    const vb = await t.as(dev.token, { method: 'GET', url: '/api/v1/models/ext-tabular/versions/1' });
    expect(vb.json()).toMatchObject({ format: 'polar-tabular' });

    // Promises ONNX, writes JSON: nothing is registered and the job is not retried.
    const c = await dispatch(t, dev.token, spec(onnx, { output: 'json' }, { register_as: 'ext-broken' }));
    expect(await waitForJob(t, dev.token, c.job_id)).toMatchObject({
      state: 'failed',
      attempts: 1,
      error: { code: 'invalid_trainer_output', transient: false },
    });
    expect((await t.as(dev.token, { method: 'GET', url: '/api/v1/models/ext-broken' })).statusCode).toBe(404);
  });

  it('refuses a job that brings its own command, arguments, image or environment, or names no registered trainer', async () => {
    const name = await trainer();
    for (const extra of [
      { command: '/bin/sh' },
      { args: ['-c', 'id'] },
      { env: { LD_PRELOAD: '/tmp/x.so' } },
      { image: 'evil:latest' },
    ]) {
      const res = await t.as(dev.token, {
        method: 'POST',
        url: '/api/v1/training/dispatch',
        payload: spec(name, {}, extra),
      });
      expect(res.statusCode, JSON.stringify(extra)).toBe(400);
      expect(res.headers['content-type']).toContain('application/problem+json');
    }
    const unknown = await t.as(dev.token, {
      method: 'POST',
      url: '/api/v1/training/dispatch',
      payload: spec('no-such-trainer'),
    });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().errors).toEqual([
      { path: 'body.trainer', message: "no registered trainer 'no-such-trainer'" },
    ]);
    const both = await t.as(dev.token, {
      method: 'POST',
      url: '/api/v1/training/dispatch',
      payload: spec(name, {}, { steps: [{ type: 'scripted' }] }),
    });
    expect(both.statusCode).toBe(400);
    const paramsAlone = await t.as(dev.token, {
      method: 'POST',
      url: '/api/v1/training/dispatch',
      payload: { ...spec(name, { a: 1 }), trainer: undefined, target: 'y', steps: [{ type: 'scripted' }] },
    });
    expect(paramsAlone.statusCode).toBe(400);
    expect(paramsAlone.json().errors[0].path).toBe('body.params');
  });

  it('cancel ends the trainer and everything it started within seconds', async () => {
    const name = await trainer();
    const job = await dispatch(t, dev.token, spec(name, { hang: true, spawn_child: true }));
    await waitFor(() => existsSync(beside(job.job_id, 'child')), 10_000, 'the trainer to start its child');
    const pid = readPid(job.job_id, 'pid');
    const child = readPid(job.job_id, 'child');
    expect(isAlive(pid) && isAlive(child)).toBe(true);
    const res = await t.as(dev.token, { method: 'POST', url: `/api/v1/training/${job.job_id}/cancel` });
    expect(res.json().state).toBe('cancelled');
    const started = Date.now();
    await waitFor(() => !isAlive(pid) && !isAlive(child), 5000, 'the trainer group to end');
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await logsOf(job.job_id)).toContain('warn Cancelled');
  });

  it("the trainer's timeout kills it and fails the job without retrying", async () => {
    const name = await trainer({ timeout_seconds: 3 });
    const job = await dispatch(t, dev.token, spec(name, { hang: true, spawn_child: true }));
    await waitFor(() => existsSync(beside(job.job_id, 'child')), 10_000, 'the trainer to start its child');
    const child = readPid(job.job_id, 'child');
    const done = await waitForJob(t, dev.token, job.job_id);
    expect(done).toMatchObject({
      state: 'failed',
      attempts: 1,
      error: { code: 'timeout', transient: false },
    });
    expect(done.error.message).toContain('timeout of 3 s');
    await waitFor(() => !isAlive(child), 5000, 'the grandchild to end');
  });

  it('a failure the trainer calls permanent is not retried; an ordinary failure is', async () => {
    const name = await trainer();
    const permanent = await dispatch(t, dev.token, spec(name, { fail: 'permanent' }));
    expect(await waitForJob(t, dev.token, permanent.job_id)).toMatchObject({
      state: 'failed',
      attempts: 1,
      error: { code: 'trainer_failed', message: 'learning_rate must be positive', transient: false },
    });
    const flaky = await dispatch(
      t,
      dev.token,
      spec(name, { fail_on_attempts: [1] }, { register_as: 'ext-flaky' }),
    );
    const done = await waitForJob(t, dev.token, flaky.job_id);
    expect(done).toMatchObject({ state: 'succeeded', attempts: 2, result: { version: 1 } });
    expect(readFileSync(beside(flaky.job_id, 'runs'), 'utf8')).toBe('1\n2\n');
    expect((await logsOf(flaky.job_id)).join('\n')).toMatch(
      /exited with code 1: .*flaky failure on attempt 1/,
    );
  });

  it('refuses outputs that are links (they could point anywhere on the worker) or absent', async () => {
    const name = await trainer();
    const link = await dispatch(t, dev.token, spec(name, { output: 'symlink' }, { register_as: 'ext-link' }));
    expect(await waitForJob(t, dev.token, link.job_id)).toMatchObject({
      state: 'failed',
      error: { code: 'invalid_trainer_output' },
    });
    const none = await dispatch(t, dev.token, spec(name, { output: 'none' }, { register_as: 'ext-none' }));
    const failed = await waitForJob(t, dev.token, none.job_id);
    expect(failed).toMatchObject({ state: 'failed', error: { code: 'invalid_trainer_output' } });
    expect(failed.error.message).toContain('wrote no file');
  });

  it('a command that does not exist fails the attempt with trainer_start_failed', async () => {
    const name = await trainer({ command: '/nonexistent/trainer-binary' });
    const job = await dispatch(t, dev.token, spec(name, {}, { resources: { max_attempts: 1 } }));
    const done = await waitForJob(t, dev.token, job.job_id);
    expect(done).toMatchObject({ state: 'failed', error: { code: 'trainer_start_failed' } });
    expect(done.error.message).toContain('ENOENT');
  });
});
