import { describe, expect, it } from 'vitest';
import { problem, scriptedCli } from '../../../test/helpers/scripted-api.js';
import { runCli } from '../program.js';
import { expiresIn, parseModelRef } from './serving.js';

const loaded = (over: Record<string, unknown> = {}) => ({
  status: 'success',
  message: 'Model llama version 2 is loaded (llama)',
  model_id: 'm1',
  version: 2,
  runtime: 'llama',
  loaded_at: '2030-01-01T00:00:00Z',
  memory_bytes: 3 * 1024 * 1024,
  ...over,
});

const entry = (over: Record<string, unknown> = {}) => ({
  model_id: 'm1',
  name: 'llama',
  version: 2,
  format: 'gguf',
  runtime: 'llama',
  status: 'loaded',
  error: null,
  pid: 123,
  memory_bytes: 512 * 1024 * 1024,
  loaded_at: '2030-01-01T00:00:00Z',
  last_used_at: '2030-01-01T00:00:00Z',
  expires_at: null,
  keep_alive: 300,
  active: 1,
  queued: 2,
  parallel: 1,
  config: {},
  ...over,
});

const runtime = (models: unknown[]) => ({
  models,
  memory_bytes: 600 * 1024 * 1024,
  policy: {
    max_loaded_models: 3,
    memory_budget_mb: 8192,
    keep_alive_seconds: 300,
    single_model_mode: false,
    auto_load: true,
    queue_size: 16,
  },
  runtimes: [{ name: 'llama', formats: ['gguf'] }],
});

describe('polar load', () => {
  it('sends version, keep-alive, typed config and allow_retired', async () => {
    const api = scriptedCli(() => ({ body: loaded() }));
    const args = ['load', 'llama', '--model-version', '2', '--keep-alive', '-1', '--allow-retired'];
    const config = [
      '--config',
      'context_size=2048',
      'embedding=false',
      'file=a.gguf',
      '--config',
      'threads=2',
    ];
    expect(await runCli([...args, ...config], api.ctx)).toBe(0);
    expect(api.calls.map((c) => [c.method, c.path, c.body])).toEqual([
      [
        'POST',
        '/api/v1/models/llama/load',
        {
          version: 2,
          keep_alive: -1,
          allow_retired: true,
          config: { context_size: 2048, embedding: false, file: 'a.gguf', threads: 2 },
        },
      ],
    ]);
    expect(api.out[0]).toMatch(/^Loaded llama version 2 \(llama, 3\.0 MB\) in \d+\.\d s\.$/);
  });

  it('takes the version or alias from name:version and name@alias, and --json prints the answer', async () => {
    const api = scriptedCli(() => ({ body: loaded() }));
    expect(await runCli(['load', 'llama:3'], api.ctx)).toBe(0);
    expect(await runCli(['load', 'llama@staging'], api.ctx)).toBe(0);
    expect(await runCli(['load', 'llama', '--alias', 'production', '--json'], api.ctx)).toBe(0);
    expect(await runCli(['load', 'llama'], api.ctx)).toBe(0);
    expect(api.calls.map((c) => c.body)).toEqual([
      { version: 3 },
      { alias: 'staging' },
      { alias: 'production' },
      {},
    ]);
    expect(JSON.parse(api.out[2]!)).toEqual(loaded());
  });

  it('refuses contradictions and bad values before any request', async () => {
    const api = scriptedCli(() => ({ body: loaded() }));
    for (const args of [
      ['load', 'llama', '--model-version', '2', '--alias', 'production'],
      ['load', 'llama:2', '--alias', 'production'],
      ['load', 'llama', '--model-version', 'two'],
      ['load', 'llama', '--keep-alive', '-5'],
      ['load', 'llama', '--config', 'novalue'],
      ['load', 'a:b:c'],
      ['unload', 'llama@production'],
    ]) {
      expect(await runCli(args, api.ctx), args.join(' ')).toBe(2);
    }
    expect(api.calls).toHaveLength(0);
  });

  it.each([
    [404, 'model_not_found', 5],
    [409, 'version_retired', 6],
    [400, 'invalid_load_config', 2],
    [503, 'memory_budget_exceeded', 1],
  ])('HTTP %i (%s) → exit %i with the message', async (status, code, exit) => {
    const api = scriptedCli(() => problem(status, code, 'It went wrong'));
    expect(await runCli(['load', 'llama'], api.ctx)).toBe(exit);
    expect(api.err.join('\n')).toContain(`It went wrong (${code}, HTTP ${status})`);
  });
});

describe('polar unload', () => {
  it('unloads every version or one', async () => {
    const api = scriptedCli((c) => ({
      body: {
        status: 'success',
        message: 'x',
        model_id: 'm1',
        unloaded_at: '2030-01-01T00:00:00Z',
        versions_unloaded: c.body && (c.body as { version?: number }).version ? 1 : 0,
      },
    }));
    expect(await runCli(['unload', 'llama'], api.ctx)).toBe(0);
    expect(await runCli(['unload', 'llama', '-v', '2'], api.ctx)).toBe(0);
    expect(await runCli(['unload', 'llama:3'], api.ctx)).toBe(0);
    expect(api.calls.map((c) => [c.path, c.body])).toEqual([
      ['/api/v1/models/llama/unload', {}],
      ['/api/v1/models/llama/unload', { version: 2 }],
      ['/api/v1/models/llama/unload', { version: 3 }],
    ]);
    expect(api.out).toEqual([
      'llama was not loaded.',
      'Unloaded llama (1 version).',
      'Unloaded llama (1 version).',
    ]);
  });
});

describe('polar ps', () => {
  it('shows model, version, runtime, status, memory, active/queued and expiry', async () => {
    const soon = new Date(Date.now() + 270_500).toISOString();
    const api = scriptedCli(() => ({
      body: runtime([
        entry({ active: 0, queued: 0, expires_at: soon }),
        entry({
          name: 'bert',
          version: 1,
          runtime: 'onnx',
          keep_alive: -1,
          memory_bytes: 0,
          status: 'loading',
        }),
        entry({ name: 'broken', status: 'error', error: 'host exited with code 1', expires_at: null }),
      ]),
    }));
    expect(await runCli(['ps'], api.ctx)).toBe(0);
    expect(api.calls[0]).toMatchObject({ method: 'GET', path: '/api/v1/runtime' });
    const [header, ...rows] = api.out[0]!.split('\n');
    expect(header).toMatch(/^MODEL\s+VERSION\s+RUNTIME\s+STATUS\s+MEMORY\s+ACTIVE\/QUEUED\s+EXPIRES$/);
    expect(rows[0]).toMatch(/^llama\s+v2\s+llama\s+loaded\s+512\.0 MB\s+0\/0\s+in 4m(30|29)s$/);
    expect(rows[1]).toMatch(/^bert\s+v1\s+onnx\s+loading\s+-\s+1\/2\s+never$/);
    expect(rows[2]).toMatch(/^broken\s+v2\s+llama\s+error\s+512\.0 MB\s+1\/2\s+-$/);
    expect(api.out[0]).toContain('broken v2: host exited with code 1');
    expect(api.out[0]).toContain('Memory: 600.0 MB of 8192 MB budget; at most 3 loaded.');
  });

  it('says (none) when nothing is loaded and --json prints the whole view', async () => {
    const api = scriptedCli(() => ({ body: runtime([]) }));
    expect(await runCli(['ps'], api.ctx)).toBe(0);
    expect(api.out).toEqual(['(none)']);
    expect(await runCli(['ps', '--json'], api.ctx)).toBe(0);
    expect(JSON.parse(api.out[1]!)).toEqual(runtime([]));
  });
});

describe('helpers', () => {
  it('parseModelRef reads name, name:version and name@alias', () => {
    expect(parseModelRef('llama')).toEqual({ model: 'llama' });
    expect(parseModelRef('my.model:12')).toEqual({ model: 'my.model', version: 12 });
    expect(parseModelRef('llama@prod-1')).toEqual({ model: 'llama', alias: 'prod-1' });
    expect(parseModelRef('llama', { version: 4 })).toEqual({ model: 'llama', version: 4 });
    expect(() => parseModelRef('llama:x')).toThrow(/not a model reference/);
    expect(() => parseModelRef('llama:1', { version: 2 })).toThrow(/already names/);
  });

  it('expiresIn counts down from now', () => {
    const e = entry({ expires_at: '2030-01-01T00:05:00Z' });
    expect(expiresIn(e as never, Date.parse('2030-01-01T00:00:00Z'))).toBe('in 5m00s');
    expect(expiresIn(e as never, Date.parse('2030-01-01T00:06:00Z'))).toBe('in 0s');
    expect(expiresIn(entry({ keep_alive: -1 }) as never)).toBe('never');
  });
});
