import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { problem, type ScriptedCall, scriptedCli } from '../../../test/helpers/scripted-api.js';
import {
  logLine,
  runningJob,
  succeededJob,
  trainingJob,
  trainingScript,
} from '../../../test/helpers/training-jobs.js';
import { runCli } from '../program.js';
import { renderTrainingLine } from './training-follow.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'polar-train-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const SPEC = {
  name: 'churn-gbdt',
  dataset_id: 'churn',
  dataset_version: 2,
  task: 'classification',
  target: 'churned',
  steps: [{ type: 'gbdt_classifier', config: { n_estimators: 50 } }],
};

function specFile(spec: unknown = SPEC, name = 'spec.json') {
  const path = join(dir, name);
  writeFileSync(path, typeof spec === 'string' ? spec : JSON.stringify(spec));
  return path;
}

const route = (c: ScriptedCall) => `${c.method} ${c.path}`;

describe('polar train', () => {
  it('dispatches the spec as it is and prints the job id', async () => {
    const api = scriptedCli(trainingScript([trainingJob()]));
    expect(await runCli(['train', '--spec', specFile()], api.ctx)).toBe(0);
    expect(api.calls.map(route)).toEqual(['POST /api/v1/training/dispatch']);
    expect(api.calls[0]!.body).toEqual(SPEC);
    expect(api.out).toEqual([
      'Dispatched training job j1 (churn-gbdt, queued). Follow it with `polar jobs logs j1 --follow`.',
    ]);
    const asJson = scriptedCli(trainingScript([trainingJob()]));
    expect(await runCli(['train', '--spec', specFile(), '--json'], asJson.ctx)).toBe(0);
    expect(JSON.parse(asJson.out.join('\n'))).toMatchObject({ job_id: 'j1', state: 'queued' });
  });

  it('--dataset trains on another dataset at its newest version; -v pins the version', async () => {
    const script = trainingScript([trainingJob()]);
    const api = scriptedCli((c) =>
      c.path === '/api/v1/datasets/sales.v2' ? { body: { latest_version: { version: 7 } } } : script(c),
    );
    expect(await runCli(['train', '--spec', specFile(), '--dataset', 'sales.v2'], api.ctx)).toBe(0);
    expect(api.calls.map(route)).toEqual(['GET /api/v1/datasets/sales.v2', 'POST /api/v1/training/dispatch']);
    expect(api.calls[1]!.body).toMatchObject({ dataset_id: 'sales.v2', dataset_version: 7 });
    expect(api.err).toEqual(['Training on dataset sales.v2 version 7.']);

    api.calls.length = 0;
    expect(await runCli(['train', '--spec', specFile(), '--dataset', 'sales.v2', '-v', '3'], api.ctx)).toBe(
      0,
    );
    expect(await runCli(['train', '--spec', specFile(), '--dataset-version', '5'], api.ctx)).toBe(0);
    expect(api.calls.map((c) => c.body)).toEqual([
      { ...SPEC, dataset_id: 'sales.v2', dataset_version: 3 },
      { ...SPEC, dataset_version: 5 },
    ]);

    // A spec that names no version means the newest one, pinned before dispatch.
    const { dataset_version: _, ...unpinned } = SPEC;
    const latest = scriptedCli((c) =>
      c.path === '/api/v1/datasets/churn' ? { body: { latest_version: { version: 4 } } } : script(c),
    );
    expect(await runCli(['train', '--spec', specFile(unpinned)], latest.ctx)).toBe(0);
    expect(latest.calls[1]!.body).toMatchObject({ dataset_id: 'churn', dataset_version: 4 });
  });

  it('refuses unreadable specs before sending anything, and shows the node’s field errors', async () => {
    const api = scriptedCli(trainingScript([trainingJob()]));
    expect(await runCli(['train', '--spec', join(dir, 'none.json')], api.ctx)).toBe(2);
    expect(await runCli(['train', '--spec', specFile('{"name": ')], api.ctx)).toBe(2);
    expect(await runCli(['train', '--spec', specFile('[1, 2]')], api.ctx)).toBe(2);
    expect(await runCli(['train'], api.ctx)).toBe(2);
    expect(await runCli(['train', '--spec', specFile(), '--cancel-on-interrupt'], api.ctx)).toBe(2);
    expect(api.calls).toHaveLength(0);
    expect(api.err.join('\n')).toMatch(/No such file: .*none\.json/);
    expect(api.err.join('\n')).toMatch(/spec\.json is not valid JSON/);
    expect(api.err.join('\n')).toMatch(/must hold one JSON object/);

    const refused = scriptedCli(() => ({
      status: 400,
      body: {
        type: 'about:blank',
        title: 'Bad Request',
        status: 400,
        detail: 'The training spec is not valid',
        code: 'invalid_training_spec',
        request_id: 'r1',
        errors: [
          { path: 'body.steps.0.config.n_estimators', message: 'Too small: expected number to be >=1' },
        ],
      },
    }));
    expect(await runCli(['train', '--spec', specFile()], refused.ctx)).toBe(2);
    expect(refused.err.join('\n')).toMatch(
      /invalid_training_spec, HTTP 400\)\n {2}body\.steps\.0\.config\.n_estimators:/,
    );
    const missing = scriptedCli(() => problem(404, 'dataset_not_found'));
    expect(await runCli(['train', '--spec', specFile(), '--dataset', 'nope'], missing.ctx)).toBe(5);
  });
});

describe('polar train --follow', () => {
  it('follows the job to success: live line, log lines, then the registered model (exit 0)', async () => {
    const api = scriptedCli(
      trainingScript([runningJob(10), runningJob(60), runningJob(95), succeededJob], {
        logsAt: {
          0: [logLine(1, 'read 500 rows')],
          2: [logLine(2, 'fitted 50 trees'), logLine(3, 'odd', 'warn')],
        },
        metrics: [
          {
            name: 'train_loss',
            points: [
              { step: 1, value: 0.69 },
              { step: 2, value: 0.412345 },
            ],
          },
          { name: 'val_loss', points: [{ step: 2, value: 0.5 }] },
        ],
      }),
      { tty: true },
    );
    expect(await runCli(['train', '--spec', specFile(), '--follow'], api.ctx)).toBe(0);
    const polls = api.calls.filter((c) => c.path === '/api/v1/training/j1').length;
    expect(polls).toBe(4);
    // Logs are read from where the last read stopped, never twice.
    expect(api.calls.filter((c) => c.path.endsWith('/logs')).map((c) => c.query.after)).toEqual([
      '0',
      '0',
      '1',
      '1',
      '3',
    ]);
    const screen = api.stderr.join('');
    expect(screen).toContain('churn-gbdt [');
    expect(screen).toMatch(/ 60% {2}running {2}ETA 32s {2}train_loss=0\.4123 val_loss=0\.5/);
    expect(screen).toMatch(/100% {2}succeeded/);
    expect(api.err).toEqual([
      'Dispatched training job j1 (churn-gbdt).',
      '00:00:01 info  read 500 rows',
      '00:00:02 info  fitted 50 trees',
      '00:00:03 warn  odd',
    ]);
    // The status line steps aside for each batch of logs and ends on its own line.
    expect(api.stderr.filter((s) => s === '\r\x1b[K').length).toBe(2);
    expect(api.stderr.at(-1)).toBe('\n');
    expect(api.out).toEqual(['Training job j1 succeeded: model churn version 4 (accuracy 0.9313, f1 0.9).']);
  });

  it('prints plain status lines off a terminal, and only the final job with --json', async () => {
    const plain = scriptedCli(trainingScript([runningJob(50), succeededJob]));
    expect(await runCli(['train', '--spec', specFile(), '-f'], plain.ctx)).toBe(0);
    expect(plain.stderr).toEqual([]);
    expect(plain.err.filter((l) => l.startsWith('churn-gbdt'))).toEqual([
      expect.stringMatching(/^churn-gbdt \[-+\]\s+0%\s+queued$/),
      expect.stringMatching(/50%\s+running\s+ETA 40s$/),
      expect.stringMatching(/100%\s+succeeded$/),
    ]);

    const asJson = scriptedCli(
      trainingScript([runningJob(50), succeededJob], { logsAt: { 0: [logLine(1, 'x')] } }),
    );
    expect(await runCli(['train', '--spec', specFile(), '-f', '--json'], asJson.ctx)).toBe(0);
    expect(JSON.parse(asJson.out.join('\n'))).toEqual(succeededJob);
    expect(asJson.err).toEqual([]);
    expect(asJson.stderr).toEqual([]);
    expect(asJson.calls.some((c) => c.path.endsWith('/logs'))).toBe(false);
  });

  it.each([
    [
      trainingJob({
        state: 'failed',
        message: 'no retries left',
        error: { code: 'data_error', message: 'column plan is not numeric', transient: false },
      }),
      'Error: training job j1 failed: column plan is not numeric (data_error)',
    ],
    [
      trainingJob({ state: 'cancelled', message: 'cancelled by bob' }),
      'Error: training job j1 was cancelled: cancelled by bob',
    ],
  ])('exits 1 with the reason when the job ends %#', async (last, text) => {
    const api = scriptedCli(
      trainingScript([
        runningJob(30),
        trainingJob({ state: 'retrying', attempts: 1, next_attempt_at: '2030-01-01T00:02:00Z' }),
        last,
      ]),
    );
    expect(await runCli(['train', '--spec', specFile(), '--follow'], api.ctx)).toBe(1);
    expect(api.err.at(-1)).toBe(text);
    expect(api.err.some((l) => /retrying at 00:02:00 \(attempt 2\/3\)/.test(l))).toBe(true);
    expect(api.out).toEqual([]);
  });

  /** Presses Ctrl-C while the second poll of the job is on its way. */
  function interruptible(cancelOnInterrupt: boolean) {
    let interrupt: (() => void) | undefined;
    let released = false;
    const script = trainingScript([runningJob(40)]);
    const api = scriptedCli((c) => {
      if (c.path === '/api/v1/training/j1' && api.calls.filter((x) => x.path === c.path).length === 2)
        interrupt?.();
      return script(c);
    });
    api.ctx.onInterrupt = (handler) => {
      interrupt = handler;
      return () => {
        released = true;
      };
    };
    const args = [
      'train',
      '--spec',
      specFile(),
      '--follow',
      ...(cancelOnInterrupt ? ['--cancel-on-interrupt'] : []),
    ];
    return { api, args, released: () => released };
  }

  it('Ctrl-C stops following and leaves the job running (exit 130)', async () => {
    const { api, args, released } = interruptible(false);
    expect(await runCli(args, api.ctx)).toBe(130);
    expect(api.calls.some((c) => c.path.endsWith('/cancel'))).toBe(false);
    expect(api.err.at(-1)).toMatch(
      /^Stopped following training job j1 \(churn-gbdt, running\); it keeps going\. .*polar jobs logs j1 --follow/,
    );
    expect(released()).toBe(true);
  });

  it('Ctrl-C with --cancel-on-interrupt cancels the job at once (exit 130)', async () => {
    const { api, args, released } = interruptible(true);
    expect(await runCli(args, api.ctx)).toBe(130);
    const cancels = api.calls.filter((c) => c.path === '/api/v1/training/j1/cancel');
    expect(cancels.map((c) => c.method)).toEqual(['POST']);
    // Nothing is polled after the cancel went out.
    expect(route(api.calls.at(-1)!)).toBe('POST /api/v1/training/j1/cancel');
    expect(api.err.at(-1)).toBe('Interrupted: cancelled training job j1 (churn-gbdt).');
    expect(released()).toBe(true);
  });
});

describe('the training status line', () => {
  it('fits the terminal, keeps the percentage and state, and names the attempt on retries', () => {
    const job = runningJob(42, { name: 'a-rather-long-training-job-name-for-churn', attempts: 2 });
    for (const columns of [30, 50, 80, 120]) {
      const line = renderTrainingLine(job, ['loss=0.31', 'auc=0.87', 'acc=0.9'], columns);
      expect(line.length).toBeLessThan(columns);
      expect(line).toContain(' 42%');
    }
    const wide = renderTrainingLine(job, ['loss=0.31', 'auc=0.87', 'acc=0.9'], 160);
    expect(wide).toMatch(
      /\[#{8}-{12}\] +42% {2}running \(attempt 2\/3\) {2}ETA 46s {2}loss=0\.31 auc=0\.87$/,
    );
  });
});
