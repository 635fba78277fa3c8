import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Script } from '../../../test/fixtures/trainers/scripted.js';
import { trainingSpec } from '../jobs/spec.js';
import { executeTrainer } from './executor.js';
import { toWireError } from './protocol.js';

const TRAINER = new URL('../../../test/fixtures/trainers/scripted.ts', import.meta.url).href;
const dir = mkdtempSync(join(tmpdir(), 'polar-exec-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let seq = 0;

function run(script: Script, opts: { attempt?: number; signal?: AbortSignal; memoryMb?: number } = {}) {
  const jobId = `job${++seq}`;
  const outputDir = join(dir, jobId);
  mkdirSync(outputDir, { recursive: true });
  const spec = trainingSpec.parse({
    name: 'exec',
    dataset_id: 'd',
    dataset_version: 1,
    target: 'y',
    task: 'classification',
    steps: [{ type: 'scripted', config: script }],
  });
  const seen = {
    progress: [] as number[],
    metrics: [] as [string, number, number][],
    logs: [] as string[],
    pid: 0,
  };
  const done = executeTrainer({
    trainer: TRAINER,
    job: {
      jobId,
      attempt: opts.attempt ?? 1,
      spec,
      dataset: {
        datasetId: 'd',
        version: 1,
        path: '/nowhere',
        format: 'csv',
        kind: 'tabular',
        schema: [],
        rows: 0,
      },
      outputDir,
    },
    memoryMb: opts.memoryMb,
    signal: opts.signal ?? new AbortController().signal,
    onProgress: (f) => seen.progress.push(f),
    onMetric: (n, v, s) => seen.metrics.push([n, v, s]),
    onLog: (level, m) => seen.logs.push(`${level}:${m}`),
    onSpawn: (pid) => {
      seen.pid = pid;
    },
  });
  return { done, seen, outputDir, jobId };
}

describe('trainer child process', () => {
  it('runs the trainer and relays progress, metrics and logs (stdout and stderr too)', async () => {
    const r = run({ ticks: 4, logs: 2, duration_ms: 20 });
    const out = await r.done;
    expect(out).toEqual({ ok: true, metrics: { accuracy: 0.75, attempt: 1 } });
    expect(r.seen.progress.at(-1)).toBe(1);
    expect(r.seen.metrics).toEqual([
      ['loss', 1, 1],
      ['loss', 0.5, 2],
      ['loss', 1 / 3, 3],
      ['loss', 0.25, 4],
    ]);
    expect(r.seen.logs).toEqual(
      expect.arrayContaining(['info:line 1', 'info:line 2', 'warn:a line on stderr']),
    );
    expect(existsSync(join(r.outputDir, 'pipeline.json'))).toBe(true);
    expect(r.seen.pid).not.toBe(process.pid);
  });

  it('reports a spec error as permanent and an ordinary one as transient', async () => {
    expect(await run({ permanent: true }).done).toEqual({
      ok: false,
      stopped: false,
      error: {
        code: 'invalid_pipeline_spec',
        message: 'steps[0].config.alpha must be positive',
        transient: false,
      },
    });
    const flaky = await run({ fail_on_attempts: [1] }).done;
    expect(flaky).toMatchObject({ ok: false, error: { code: 'training_failed', transient: true } });
    expect(await run({ fail_on_attempts: [1] }, { attempt: 2 }).done).toMatchObject({ ok: true });
  });

  it('a process that exits without a result crashed (transient), with its last stderr lines', async () => {
    const out = await run({ crash_on_attempts: [1], ticks: 2 }).done;
    expect(out).toMatchObject({
      ok: false,
      stopped: false,
      error: { code: 'trainer_crashed', transient: true },
    });
    expect(!out.ok && out.error.message).toMatch(/exited with code 3: a line on stderr/);
  });

  it('a SIGKILL from outside is a crash', async () => {
    const r = run({ hang: true });
    while (!r.seen.pid) await new Promise((res) => setTimeout(res, 10));
    process.kill(r.seen.pid, 'SIGKILL');
    const out = await r.done;
    expect(out).toMatchObject({ ok: false, stopped: false, error: { code: 'trainer_crashed' } });
    expect(!out.ok && out.error.message).toContain('SIGKILL');
  });

  it('stopping kills the child at once', async () => {
    const ac = new AbortController();
    const r = run({ hang: true }, { signal: ac.signal });
    while (!r.seen.pid) await new Promise((res) => setTimeout(res, 10));
    const t = Date.now();
    ac.abort();
    expect(await r.done).toMatchObject({ ok: false, stopped: true, error: { code: 'stopped' } });
    expect(Date.now() - t).toBeLessThan(1000);
    expect(() => process.kill(r.seen.pid, 0)).toThrow();
  });

  it('a trainer module without a trainer export fails permanently', async () => {
    const out = await executeTrainer({
      trainer: new URL('./protocol.ts', import.meta.url).href,
      job: {
        jobId: 'x',
        attempt: 1,
        spec: trainingSpec.parse({
          name: 'x',
          dataset_id: 'd',
          dataset_version: 1,
          task: 'clustering',
          steps: [{ type: 'kmeans' }],
        }),
        dataset: {
          datasetId: 'd',
          version: 1,
          path: '',
          format: 'csv',
          kind: 'tabular',
          schema: [],
          rows: 0,
        },
        outputDir: dir,
      },
      signal: new AbortController().signal,
      onProgress: () => {},
      onMetric: () => {},
      onLog: () => {},
    });
    expect(out).toMatchObject({ ok: false, error: { transient: false } });
  });

  it('writes the pid where tests can read it', async () => {
    const r = run({});
    await r.done;
    expect(Number(readFileSync(join(dir, `${r.jobId}.pid`), 'utf8'))).toBeGreaterThan(0);
  });
});

describe('trainer errors over the wire', () => {
  it('4xx errors and pipeline errors are permanent, others transient', () => {
    expect(toWireError(Object.assign(new Error('bad'), { status: 422, code: 'unknown_column' }))).toEqual({
      code: 'unknown_column',
      message: 'bad',
      permanent: true,
    });
    expect(toWireError(Object.assign(new Error('x'), { retryable: false })).permanent).toBe(true);
    expect(toWireError(new Error('disk'))).toEqual({
      code: 'training_failed',
      message: 'disk',
      permanent: false,
    });
    expect(toWireError(Object.assign(new Error('io'), { code: 'ENOENT' })).code).toBe('training_failed');
  });
  it('names the fields of a spec error', () => {
    const e = Object.assign(new Error('invalid'), {
      retryable: false,
      errors: [{ path: 'steps[1].config.alpha', message: 'too small' }],
    });
    expect(toWireError(e).message).toBe('invalid (steps[1].config.alpha: too small)');
  });
});
