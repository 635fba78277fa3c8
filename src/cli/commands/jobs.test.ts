import { describe, expect, it } from 'vitest';
import { problem, scriptedCli } from '../../../test/helpers/scripted-api.js';
import {
  logLine,
  runningJob,
  succeededJob,
  trainingJob,
  trainingScript,
} from '../../../test/helpers/training-jobs.js';
import { runCli } from '../program.js';

describe('polar jobs', () => {
  it('ls sends the filters, prints a table and --all-pages follows the cursor', async () => {
    const api = scriptedCli((c) =>
      c.query.cursor === 'p2'
        ? { body: { items: [succeededJob], next_cursor: null } }
        : { body: { items: [runningJob(42, { job_id: 'j2', attempts: 2 })], next_cursor: 'p2' } },
    );
    expect(await runCli(['jobs', 'ls', '--state', 'running', '--limit', '1', '--all-pages'], api.ctx)).toBe(
      0,
    );
    expect(api.calls.map((c) => [c.path, c.query])).toEqual([
      ['/api/v1/training', { state: 'running', limit: '1' }],
      ['/api/v1/training', { state: 'running', limit: '1', cursor: 'p2' }],
    ]);
    const lines = api.out[0]!.split('\n');
    expect(lines[0]).toMatch(/^JOB\s+NAME\s+STATE\s+PROGRESS\s+ATTEMPTS\s+MODEL\s+CREATED$/);
    expect(lines[1]).toMatch(/^j2\s+churn-gbdt\s+running\s+42%\s+2\/3\s+-\s+2030-01-01 00:00:00Z$/);
    expect(lines[2]).toMatch(/^j1\s+churn-gbdt\s+succeeded\s+100%\s+1\/3\s+churn v4/);

    const page = scriptedCli(() => ({ body: { items: [], next_cursor: 'p2' } }));
    expect(await runCli(['jobs', 'ls', '--owner', 'u2'], page.ctx)).toBe(0);
    expect(page.calls[0]!.query).toEqual({ owner: 'u2' });
    expect(page.out).toEqual(['(none)']);
    expect(page.err).toEqual(['More results: add --cursor p2']);
    expect(await runCli(['jobs', 'ls', '--state', 'sleeping'], page.ctx)).toBe(2);
  });

  it('show prints state, dataset, attempts, error, metrics and the model', async () => {
    const failed = trainingJob({
      state: 'failed',
      message: 'no retries left',
      attempts: 3,
      error: { code: 'trainer_crashed', message: 'the trainer exited with code 1', transient: true },
      metrics: { accuracy: 0.5 },
    });
    const api = scriptedCli((c) => ({ body: c.path.endsWith('/j1') ? succeededJob : failed }));
    expect(await runCli(['jobs', 'show', 'j1'], api.ctx)).toBe(0);
    expect(await runCli(['jobs', 'get', 'j9'], api.ctx)).toBe(0);
    expect(api.calls.map((c) => c.path)).toEqual(['/api/v1/training/j1', '/api/v1/training/j9']);
    expect(api.out[0]).toMatch(/state:\s+succeeded\n/);
    expect(api.out[0]).toMatch(/dataset:\s+churn v2/);
    expect(api.out[0]).toMatch(/model:\s+churn v4/);
    expect(api.out[0]).toMatch(/metrics:\s+accuracy=0\.9313, f1=0\.9, confusion=\[\[1,2\]\]/);
    expect(api.out[1]).toMatch(/state:\s+failed: no retries left/);
    expect(api.out[1]).toMatch(/attempts:\s+3 of 3/);
    expect(api.out[1]).toMatch(/error:\s+the trainer exited with code 1 \(trainer_crashed, transient\)/);
    const missing = scriptedCli(() => problem(404, 'training_job_not_found'));
    expect(await runCli(['jobs', 'show', 'nope'], missing.ctx)).toBe(5);
  });

  it('logs reads every page and prints the lines; --json prints one object per line', async () => {
    const lines = [logLine(1, 'start'), logLine(2, 'half', 'warn'), { ...logLine(3, 'again'), attempt: 2 }];
    const api = scriptedCli((c) =>
      c.query.after === '0'
        ? { body: { items: lines.slice(0, 2), next_after: 2 } }
        : { body: { items: lines.slice(2), next_after: null } },
    );
    expect(await runCli(['jobs', 'logs', 'j1'], api.ctx)).toBe(0);
    expect(api.calls.map((c) => c.query)).toEqual([
      { after: '0', limit: '1000' },
      { after: '2', limit: '1000' },
    ]);
    expect(api.out).toEqual([
      '00:00:01 info  start',
      '00:00:02 warn  half',
      '00:00:03 info  [attempt 2] again',
    ]);
    const asJson = scriptedCli(() => ({ body: { items: lines.slice(2), next_after: null } }));
    expect(await runCli(['jobs', 'logs', 'j1', '--after', '2', '--json'], asJson.ctx)).toBe(0);
    expect(asJson.calls[0]!.query.after).toBe('2');
    expect(asJson.out.map((l) => JSON.parse(l))).toEqual(lines.slice(2));
  });

  it('logs --follow prints lines as they come until the job ends; exit 1 when it failed', async () => {
    const api = scriptedCli(
      trainingScript([runningJob(10), runningJob(70), succeededJob], {
        logsAt: { 0: [logLine(1, 'one')], 1: [logLine(2, 'two')], 2: [logLine(3, 'done')] },
      }),
      { tty: true },
    );
    expect(await runCli(['jobs', 'logs', 'j1', '--follow'], api.ctx)).toBe(0);
    expect(api.out).toEqual(['00:00:01 info  one', '00:00:02 info  two', '00:00:03 info  done']);
    // Logs are the output: no status line is drawn over them.
    expect(api.stderr).toEqual([]);
    expect(api.calls.some((c) => c.path.endsWith('/cancel'))).toBe(false);

    const failed = trainingJob({
      state: 'failed',
      error: { code: 'timeout', message: 'ran longer than 60 s', transient: false },
    });
    const fails = scriptedCli(trainingScript([runningJob(10), failed]));
    expect(await runCli(['jobs', 'logs', 'j1', '-f'], fails.ctx)).toBe(1);
    expect(fails.err.at(-1)).toBe('Training job j1 failed: ran longer than 60 s (timeout)');
  });

  it('logs --follow on Ctrl-C stops following without cancelling the job (exit 130)', async () => {
    let interrupt: (() => void) | undefined;
    const script = trainingScript([runningJob(10)]);
    const api = scriptedCli((c) => {
      if (c.path.endsWith('/logs') && api.calls.length > 3) interrupt?.();
      return script(c);
    });
    api.ctx.onInterrupt = (handler) => {
      interrupt = handler;
      return () => {};
    };
    expect(await runCli(['jobs', 'logs', 'j1', '--follow'], api.ctx)).toBe(130);
    expect(api.calls.some((c) => c.path.endsWith('/cancel'))).toBe(false);
    expect(api.err.at(-1)).toMatch(/^Stopped following training job j1/);
  });

  it('cancel cancels a job; conflicts and unknown jobs map to exit codes', async () => {
    const api = scriptedCli(trainingScript([trainingJob()]));
    expect(await runCli(['jobs', 'cancel', 'j1'], api.ctx)).toBe(0);
    expect(api.calls.map((c) => `${c.method} ${c.path}`)).toEqual(['POST /api/v1/training/j1/cancel']);
    expect(api.out).toEqual(['Training job j1 is cancelled.']);
    const done = scriptedCli(() => problem(409, 'training_job_finished', 'The job already succeeded'));
    expect(await runCli(['jobs', 'cancel', 'j1'], done.ctx)).toBe(6);
    expect(done.err[0]).toBe('Error: The job already succeeded (training_job_finished, HTTP 409)');
  });
});

const worker = (over: Record<string, unknown> = {}) => ({
  id: 'node1-w1',
  host: 'node1',
  pid: 4242,
  state: 'busy',
  current_job_id: 'j1',
  heartbeat_at: new Date(Date.now() - 4_000).toISOString(),
  started_at: '2030-01-01T00:00:00Z',
  local: true,
  ...over,
});

describe('polar workers', () => {
  it('lists the workers with their job and heartbeat age (also as `workers ls`)', async () => {
    const items = [
      worker(),
      worker({
        id: 'node2-w1',
        host: 'node2',
        state: 'idle',
        current_job_id: null,
        local: false,
        heartbeat_at: new Date(Date.now() - 125_000).toISOString(),
      }),
    ];
    const api = scriptedCli(() => ({ body: { items, next_cursor: null } }));
    expect(await runCli(['workers'], api.ctx)).toBe(0);
    expect(await runCli(['workers', 'ls', '--json'], api.ctx)).toBe(0);
    expect(api.calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      'GET /api/v1/workers',
      'GET /api/v1/workers',
    ]);
    const lines = api.out[0]!.split('\n');
    expect(lines[0]).toMatch(/^ID\s+HOST\s+PID\s+STATE\s+JOB\s+HEARTBEAT$/);
    expect(lines[1]).toMatch(/^node1-w1\s+node1\s+4242\s+busy\s+j1\s+[45]s ago$/);
    expect(lines[2]).toMatch(/^node2-w1\s+node2 \(other node\)\s+4242\s+idle\s+-\s+2m0[56]s ago$/);
    expect(JSON.parse(api.out[1]!).items).toHaveLength(2);
    expect(await runCli(['workers', 'bogus'], api.ctx)).toBe(2);
  });

  it('scale, drain, stop and start send the admin commands', async () => {
    const api = scriptedCli((c) =>
      c.path.endsWith('/scale')
        ? {
            body: {
              items: [worker(), worker({ id: 'node1-w2', state: 'idle', current_job_id: null })],
              next_cursor: null,
            },
          }
        : {
            body: worker({
              state: c.path.split('/').at(-1) === 'drain' ? 'draining' : 'stopped',
              current_job_id: null,
            }),
          },
    );
    expect(await runCli(['workers', 'scale', '2'], api.ctx)).toBe(0);
    expect(await runCli(['workers', 'drain', 'node1-w1'], api.ctx)).toBe(0);
    expect(await runCli(['workers', 'stop', 'node1-w1'], api.ctx)).toBe(0);
    expect(await runCli(['workers', 'start', 'node1-w1'], api.ctx)).toBe(0);
    expect(api.calls.map((c) => [c.method, c.path, c.body])).toEqual([
      ['POST', '/api/v1/workers/scale', { count: 2 }],
      ['POST', '/api/v1/workers/node1-w1/drain', undefined],
      ['POST', '/api/v1/workers/node1-w1/stop', undefined],
      ['POST', '/api/v1/workers/node1-w1/start', undefined],
    ]);
    expect(api.out[0]).toMatch(/^Scaled to 2 worker\(s\)\.\nID\s+HOST/);
    expect(api.out[0]).toMatch(/node1-w2\s+node1\s+4242\s+idle/);
    expect(api.out.slice(1)).toEqual([
      'Worker node1-w1 is draining.',
      'Worker node1-w1 is stopped.',
      'Worker node1-w1 is stopped.',
    ]);

    expect(await runCli(['workers', 'scale', '65'], api.ctx)).toBe(2);
    expect(await runCli(['workers', 'scale', 'many'], api.ctx)).toBe(2);
    expect(api.calls).toHaveLength(4);
    const forbidden = scriptedCli(() => problem(403, 'forbidden', 'Needs admin:system'));
    expect(await runCli(['workers', 'scale', '1'], forbidden.ctx)).toBe(4);
  });
});
