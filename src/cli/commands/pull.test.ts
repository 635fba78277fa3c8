import { describe, expect, it } from 'vitest';
import { problem, scriptedCli } from '../../../test/helpers/scripted-api.js';
import type { DownloadJob } from '../../core/hub-import/schema.js';
import { runCli } from '../program.js';

const job = (over: Partial<DownloadJob> = {}): DownloadJob => ({
  job_id: 'j1',
  status: 'queued',
  message: '',
  model_name: 'org/repo',
  revision: 'main',
  commit: null,
  model_format: 'gguf',
  files: [{ path: 'model.Q4.gguf', size: 1000, done_bytes: 0 }],
  download_progress: 0,
  bytes_done: 0,
  bytes_total: 1000,
  speed_bps: 0,
  estimated_time: null,
  eta_seconds: null,
  model_id: null,
  version: null,
  error: null,
  created_by: 'u1',
  created_at: '2030-01-01T00:00:00Z',
  updated_at: '2030-01-01T00:00:00Z',
  finished_at: null,
  ...over,
});
const running = (done: number) =>
  job({
    status: 'downloading',
    bytes_done: done,
    download_progress: done / 10,
    speed_bps: 100,
    eta_seconds: (1000 - done) / 100,
  });
const succeeded = job({
  status: 'succeeded',
  commit: 'abcdef0123456789',
  bytes_done: 1000,
  download_progress: 100,
  model_id: 'm1',
  version: 3,
  finished_at: '2030-01-01T00:01:00Z',
});

/** Answers the POST with a queued job, then each GET with the next state of the script. */
function jobScript(states: DownloadJob[]) {
  const rest = [...states];
  return (c: { method: string; path: string }) => {
    if (c.method === 'POST' && c.path === '/api/v1/models/download') return { status: 202, body: job() };
    if (c.method === 'POST' && c.path.endsWith('/cancel')) return { body: job({ status: 'cancelled' }) };
    return { body: rest.length > 1 ? rest.shift() : rest[0] };
  };
}

describe('polar pull', () => {
  it('sends the import request with every option and the token from HF_TOKEN', async () => {
    const api = scriptedCli(jobScript([succeeded]), { hfToken: 'hf_env' });
    const args = [
      'pull',
      'org/repo',
      '--format',
      'gguf',
      '--revision',
      'v1',
      '--name',
      'mine',
      '--task',
      'chat',
    ];
    expect(await runCli([...args, '--files', '*Q4*.gguf', '*.json'], api.ctx)).toBe(0);
    expect(api.calls[0]).toMatchObject({
      method: 'POST',
      path: '/api/v1/models/download',
      body: {
        model_name: 'org/repo',
        model_format: 'gguf',
        auth_token: 'hf_env',
        revision: 'v1',
        files: ['*Q4*.gguf', '*.json'],
        name: 'mine',
        task: 'chat',
      },
    });
  });

  it('reads the token from standard input with --token-stdin, and sends none when there is none', async () => {
    const api = scriptedCli(jobScript([succeeded]), { answers: ['hf_stdin\n'], hfToken: 'hf_env' });
    expect(await runCli(['pull', 'org/repo', '--token-stdin'], api.ctx)).toBe(0);
    expect(api.calls[0]!.body).toEqual({ model_name: 'org/repo', auth_token: 'hf_stdin' });
    const none = scriptedCli(jobScript([succeeded]));
    expect(await runCli(['pull', 'org/repo'], none.ctx)).toBe(0);
    expect(none.calls[0]!.body).toEqual({ model_name: 'org/repo' });
  });

  it('polls until the job succeeds, drawing a bar on a terminal, and exits 0', async () => {
    const api = scriptedCli(
      jobScript([running(250), running(750), job({ status: 'verifying', bytes_done: 1000 }), succeeded]),
      {
        tty: true,
      },
    );
    expect(await runCli(['pull', 'org/repo'], api.ctx)).toBe(0);
    expect(api.calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      'POST /api/v1/models/download',
      ...Array(4).fill('GET /api/v1/models/download/j1'),
    ]);
    const bars = api.stderr.join('');
    expect(bars).toContain('org/repo (queued)');
    expect(bars).toContain('(verifying)');
    expect(bars).toMatch(/100%/);
    expect(api.stderr.at(-1)).toBe('\n');
    expect(api.out).toEqual(['Pulled org/repo@abcdef012345: model m1 version 3 (1000 B).']);
  });

  it('prints plain lines without a terminal and the final job with --json', async () => {
    const api = scriptedCli(jobScript([running(500), succeeded]));
    expect(await runCli(['pull', 'org/repo', '--json'], api.ctx)).toBe(0);
    expect(JSON.parse(api.out.join('\n'))).toEqual(succeeded);
    expect(api.stderr).toEqual([]);
    const plain = scriptedCli(jobScript([running(500), succeeded]));
    expect(await runCli(['pull', 'org/repo'], plain.ctx)).toBe(0);
    // Status changes are always reported; progress in between is rate-limited.
    expect(plain.err[0]).toMatch(/^org\/repo \(queued\)/);
    expect(plain.err.some((l) => /100%/.test(l))).toBe(true);
  });

  it.each([
    [
      job({ status: 'failed', error: { code: 'hub_unauthorized', message: 'The repo is gated' } }),
      /failed: The repo is gated \(hub_unauthorized\)/,
    ],
    [job({ status: 'cancelled', message: 'cancelled by alice' }), /cancelled: cancelled by alice/],
  ])('exits 1 with the error when the job ends %#', async (last, text) => {
    const api = scriptedCli(jobScript([running(100), last]));
    expect(await runCli(['pull', 'org/repo'], api.ctx)).toBe(1);
    expect(api.err.join('\n')).toMatch(text);
    expect(api.out).toEqual([]);
  });

  it('on Ctrl-C sends the cancel request and exits 130', async () => {
    let interrupt: (() => void) | undefined;
    let released = false;
    const script = jobScript([running(100)]);
    const api = scriptedCli((c) => {
      // The user presses Ctrl-C while the second poll is on its way.
      if (c.method === 'GET' && api.calls.length === 3) interrupt?.();
      return script(c);
    });
    api.ctx.onInterrupt = (handler) => {
      interrupt = handler;
      return () => {
        released = true;
      };
    };
    expect(await runCli(['pull', 'org/repo'], api.ctx)).toBe(130);
    expect(api.calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      'POST /api/v1/models/download',
      'GET /api/v1/models/download/j1',
      'GET /api/v1/models/download/j1',
      'POST /api/v1/models/download/j1/cancel',
    ]);
    expect(api.err.join('\n')).toMatch(/Interrupted: cancelled the download of org\/repo \(job j1\)/);
    expect(released).toBe(true);
  });

  it('--detach returns after the 202 with the job id', async () => {
    const api = scriptedCli(jobScript([succeeded]));
    expect(await runCli(['pull', 'org/repo', '--detach'], api.ctx)).toBe(0);
    expect(api.calls).toHaveLength(1);
    expect(api.out).toEqual(['Started job j1; see it with `polar pull --status j1`.']);
  });

  it('--status shows a job, ls lists them with a filter, cancel cancels one', async () => {
    const api = scriptedCli((c) =>
      c.path === '/api/v1/models/download'
        ? { body: { items: [succeeded], next_cursor: null } }
        : c.path.endsWith('/cancel')
          ? { body: job({ status: 'cancelled' }) }
          : { body: running(500) },
    );
    expect(await runCli(['pull', '--status', 'j1'], api.ctx)).toBe(0);
    expect(await runCli(['pull', 'ls', '--status', 'succeeded', '--limit', '5'], api.ctx)).toBe(0);
    expect(await runCli(['pull', 'cancel', 'j1'], api.ctx)).toBe(0);
    expect(api.calls.map((c) => [c.method, c.path, c.query])).toEqual([
      ['GET', '/api/v1/models/download/j1', {}],
      ['GET', '/api/v1/models/download', { status: 'succeeded', limit: '5' }],
      ['POST', '/api/v1/models/download/j1/cancel', {}],
    ]);
    expect(api.out[0]).toMatch(/progress:\s+50% \(500 B of 1000 B\)/);
    expect(api.out[1]).toMatch(/j1\s+org\/repo\s+succeeded\s+100%\s+1000 B\s+v3/);
    expect(api.out[2]).toBe('Job j1 is cancelled.');
  });

  it('usage errors and API errors map to exit codes', async () => {
    const api = scriptedCli(() => problem(404, 'download_not_found'));
    expect(await runCli(['pull'], api.ctx)).toBe(2);
    expect(await runCli(['pull', 'org/repo', '--format', 'zip'], api.ctx)).toBe(2);
    expect(await runCli(['pull', 'ls', '--status', 'sleeping'], api.ctx)).toBe(2);
    expect(api.calls).toHaveLength(0);
    expect(await runCli(['pull', '--status', 'nope'], api.ctx)).toBe(5);
    const bad = scriptedCli(() => problem(400, 'validation_error', 'a hub repo id like org/repo'));
    expect(await runCli(['pull', '../etc'], bad.ctx)).toBe(2);
  });
});
