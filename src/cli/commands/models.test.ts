import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseMultipart, problem, scriptedCli } from '../../../test/helpers/scripted-api.js';
import { runCli } from '../program.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'polar-models-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');
const model = (over: Record<string, unknown> = {}) => ({
  id: 'm1',
  name: 'llama',
  task: 'chat',
  description: '',
  tags: [],
  visibility: 'internal',
  owner_id: 'u1',
  status: 'available',
  format: 'gguf',
  size: 2048,
  source: 'upload',
  versions_count: 1,
  latest_version: 1,
  aliases: { production: 1 },
  created_at: '2030-01-01T00:00:00Z',
  updated_at: '2030-01-01T00:00:00Z',
  versions: [],
  ...over,
});
const version = (over: Record<string, unknown> = {}) => ({
  version: 2,
  format: 'gguf',
  size: 11,
  sha256: sha('hello world'),
  status: 'ready',
  source: 'upload',
  lineage: {},
  metrics: {},
  external: null,
  created_at: '2030-01-01T00:00:00Z',
  retired_at: null,
  files: [{ path: 'w/model.gguf', size: 11, sha256: sha('hello world') }],
  ...over,
});
const alias = { model_id: 'm1', alias: 'production', version: 2, previous_version: 1 };

describe('models: model requests', () => {
  it('ls sends the filters and --all-pages follows the cursor to the end', async () => {
    const api = scriptedCli((c) =>
      c.query.cursor === 'p2'
        ? { body: { items: [model({ id: 'm2', name: 'bert' })], next_cursor: null } }
        : { body: { items: [model()], next_cursor: 'p2' } },
    );
    const args = ['models', 'ls', '--search', 'll', '--task', 'chat', '--tag', 'x', '--limit', '1'];
    expect(await runCli([...args, '--all-pages', '--json'], api.ctx)).toBe(0);
    expect(api.calls.map((c) => [c.method, c.path, c.query])).toEqual([
      ['GET', '/api/v1/models', { search: 'll', task: 'chat', tag: 'x', limit: '1' }],
      ['GET', '/api/v1/models', { search: 'll', task: 'chat', tag: 'x', limit: '1', cursor: 'p2' }],
    ]);
    expect(JSON.parse(api.out.join('\n')).items.map((m: { name: string }) => m.name)).toEqual([
      'llama',
      'bert',
    ]);

    const one = scriptedCli(() => ({ body: { items: [model()], next_cursor: 'p2' } }));
    expect(await runCli(['models', 'ls'], one.ctx)).toBe(0);
    expect(one.out.join('\n')).toMatch(/llama\s+chat\s+v1\s+gguf\s+2\.0 KB\s+production→1/);
    expect(one.err).toEqual(['More results: add --cursor p2']);
  });

  it('show prints the fields, the aliases and a versions table', async () => {
    const api = scriptedCli(() => ({ body: model({ versions: [version({ version: 1 }), version()] }) }));
    expect(await runCli(['models', 'show', 'my.model'], api.ctx)).toBe(0);
    expect(api.calls[0]).toMatchObject({ method: 'GET', path: '/api/v1/models/my.model' });
    const text = api.out.join('\n');
    expect(text).toMatch(/aliases:\s+production→1/);
    expect(text).toMatch(/VERSION\s+FORMAT\s+SIZE/);
    // Newest version first.
    expect(text.indexOf('\n2 ')).toBeLessThan(text.indexOf('\n1 '));
  });

  it('create sends name, task, description, tags and private visibility', async () => {
    const api = scriptedCli(() => ({ status: 201, body: model({ visibility: 'private' }) }));
    const args = ['models', 'create', 'llama', '--task', 'chat', '-d', 'A chat model'];
    expect(await runCli([...args, '--tag', 'a', '--tag', 'b', '--private'], api.ctx)).toBe(0);
    expect(api.calls[0]).toMatchObject({
      method: 'POST',
      path: '/api/v1/models',
      body: {
        name: 'llama',
        task: 'chat',
        description: 'A chat model',
        tags: ['a', 'b'],
        visibility: 'private',
      },
    });
    expect(api.out).toEqual(['Created model llama (chat, private, id m1).']);
  });

  it('update sends only what is given; --no-tags clears the tags; nothing to change is a usage error', async () => {
    const api = scriptedCli(() => ({ body: model() }));
    expect(
      await runCli(['models', 'update', 'llama', '--name', 'llama2', '--visibility', 'private'], api.ctx),
    ).toBe(0);
    expect(await runCli(['models', 'update', 'llama', '--no-tags'], api.ctx)).toBe(0);
    expect(api.calls.map((c) => [c.method, c.path, c.body])).toEqual([
      ['PATCH', '/api/v1/models/llama', { name: 'llama2', visibility: 'private' }],
      ['PATCH', '/api/v1/models/llama', { tags: [] }],
    ]);
    expect(await runCli(['models', 'update', 'llama'], api.ctx)).toBe(2);
    expect(api.calls).toHaveLength(2);
  });

  it('delete needs --yes without a terminal, then sends DELETE', async () => {
    const api = scriptedCli(() => ({ body: { id: 'm1', deleted: true, blobs_freed: 3 } }));
    expect(await runCli(['models', 'delete', 'llama'], api.ctx)).toBe(2);
    expect(api.calls).toHaveLength(0);
    expect(await runCli(['models', 'rm', 'llama', '--yes'], api.ctx)).toBe(0);
    expect(api.calls[0]).toMatchObject({ method: 'DELETE', path: '/api/v1/models/llama' });
    expect(api.out).toEqual(['Deleted model llama (3 stored files freed).']);
  });

  it.each([
    [404, 'model_not_found', 5],
    [409, 'model_name_taken', 6],
    [400, 'validation_error', 2],
  ])('HTTP %i maps to exit %i', async (status, code, exit) => {
    const api = scriptedCli(() => problem(status, code, 'It went wrong'));
    expect(await runCli(['models', 'show', 'x'], api.ctx)).toBe(exit);
    expect(api.err.join('\n')).toContain(`It went wrong (${code}, HTTP ${status})`);
  });
});

describe('models: versions and aliases', () => {
  it('upload streams fields first, then files; a directory gives relative paths', async () => {
    mkdirSync(join(dir, 'm', 'tok'), { recursive: true });
    writeFileSync(join(dir, 'm', 'model.onnx'), 'ONNX');
    writeFileSync(join(dir, 'm', 'tok', 'vocab.json'), '{"a":1}');
    writeFileSync(join(dir, 'extra.txt'), 'x'.repeat(1000));
    const api = scriptedCli(() => ({ status: 201, body: version({ version: 3 }) }), { tty: true });
    const args = ['models', 'upload', 'llama', join(dir, 'm'), join(dir, 'extra.txt')];
    const meta = ['--source', 'lab', '--metrics', '{"acc":0.9}', '--lineage', '{"parent_version":2}'];
    expect(await runCli([...args, ...meta], api.ctx)).toBe(0);
    const call = api.calls[0]!;
    expect(call).toMatchObject({ method: 'POST', path: '/api/v1/models/llama/versions' });
    expect(Number(call.headers.get('content-length'))).toBe(call.raw!.length);
    expect(parseMultipart(call.raw!, call.headers.get('content-type')!)).toEqual([
      { name: 'source', value: 'lab' },
      { name: 'lineage', value: '{"parent_version":2}' },
      { name: 'metrics', value: '{"acc":0.9}' },
      { name: 'file', filename: 'model.onnx', value: 'ONNX' },
      { name: 'file', filename: 'tok/vocab.json', value: '{"a":1}' },
      { name: 'file', filename: 'extra.txt', value: 'x'.repeat(1000) },
    ]);
    expect(api.out[0]).toMatch(/^Added version 3 of llama/);
    // The bar ends at 100% on the terminal's standard error, then a newline.
    expect(api.stderr.at(-2)).toMatch(/3 files \[#+\]\s+100%/);
    expect(api.stderr.at(-1)).toBe('\n');
  });

  it('upload refuses bad JSON, missing files and name clashes before any request', async () => {
    writeFileSync(join(dir, 'a.gguf'), 'a');
    mkdirSync(join(dir, 'd'));
    writeFileSync(join(dir, 'd', 'a.gguf'), 'b');
    const api = scriptedCli(() => ({ status: 201, body: version() }));
    for (const args of [
      ['models', 'upload', 'llama', join(dir, 'a.gguf'), '--metrics', '[1]'],
      ['models', 'upload', 'llama', join(dir, 'a.gguf'), '--lineage', '{oops'],
      ['models', 'upload', 'llama', join(dir, 'missing')],
      ['models', 'upload', 'llama', join(dir, 'a.gguf'), join(dir, 'd')],
    ]) {
      expect(await runCli(args, api.ctx), args.join(' ')).toBe(2);
    }
    expect(api.calls).toHaveLength(0);
  });

  it('upload sends allow_pickle only when asked', async () => {
    writeFileSync(join(dir, 'model.bin'), 'pickle');
    const api = scriptedCli(() => ({ status: 201, body: version() }));
    expect(
      await runCli(['models', 'upload', 'llama', join(dir, 'model.bin'), '--allow-pickle'], api.ctx),
    ).toBe(0);
    const parts = parseMultipart(api.calls[0]!.raw!, api.calls[0]!.headers.get('content-type')!);
    expect(parts.map((p) => p.name)).toEqual(['allow_pickle', 'file']);
    expect(parts[0]!.value).toBe('true');
  });

  const fileServer = (content: string) => (c: { path: string; headers: Headers }) => {
    if (c.path.endsWith('/versions/2')) return { body: version() };
    const range = /^bytes=(\d+)-$/.exec(c.headers.get('range') ?? '');
    if (!range) return { bytes: content };
    return { status: 206, bytes: content.slice(Number(range[1])) };
  };

  it('download writes the file and checks its sha256', async () => {
    const out = join(dir, 'model.gguf');
    const api = scriptedCli(fileServer('hello world'));
    expect(await runCli(['models', 'download', 'llama', '2', 'w/model.gguf', '-o', out], api.ctx)).toBe(0);
    expect(api.calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      'GET /api/v1/models/llama/versions/2',
      'GET /api/v1/models/llama/versions/2/files/w/model.gguf',
    ]);
    expect(api.calls[1]!.headers.get('range')).toBeNull();
    expect(readFileSync(out, 'utf8')).toBe('hello world');
  });

  it('download resumes a partial file with Range, and skips a complete one', async () => {
    const out = join(dir, 'model.gguf');
    writeFileSync(out, 'hello');
    const api = scriptedCli(fileServer('hello world'));
    expect(
      await runCli(['models', 'download', 'llama', '2', 'w/model.gguf', '-o', out, '--json'], api.ctx),
    ).toBe(0);
    expect(api.calls[1]!.headers.get('range')).toBe('bytes=5-');
    expect(readFileSync(out, 'utf8')).toBe('hello world');
    expect(JSON.parse(api.out.join(''))).toMatchObject({ resumed_from: 5, sha256: sha('hello world') });

    expect(await runCli(['models', 'download', 'llama', '2', 'w/model.gguf', '-o', out], api.ctx)).toBe(0);
    expect(api.calls).toHaveLength(3);
    expect(api.out.at(-1)).toMatch(/already complete/);
  });

  it('download starts over when the server ignores Range, and fails on a wrong checksum', async () => {
    const out = join(dir, 'model.gguf');
    writeFileSync(out, 'hello');
    const whole = scriptedCli((c) =>
      c.path.endsWith('/versions/2') ? { body: version() } : { bytes: 'hello world' },
    );
    expect(await runCli(['models', 'download', 'llama', '2', 'w/model.gguf', '-o', out], whole.ctx)).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe('hello world');

    writeFileSync(out, 'HELLO');
    const api = scriptedCli(fileServer('hello world'));
    expect(await runCli(['models', 'download', 'llama', '2', 'w/model.gguf', '-o', out], api.ctx)).toBe(1);
    expect(api.err.join('\n')).toMatch(/does not match the version's sha256/);
    // Now full-size but wrong: the next run starts from byte 0 instead of trusting it.
    expect(await runCli(['models', 'download', 'llama', '2', 'w/model.gguf', '-o', out], api.ctx)).toBe(0);
    expect(api.calls.at(-1)!.headers.get('range')).toBeNull();
    expect(readFileSync(out, 'utf8')).toBe('hello world');
  });

  it('alias set, history, rollback and rm', async () => {
    const api = scriptedCli((c) =>
      c.path.endsWith('/history')
        ? {
            body: {
              items: [
                {
                  id: 'h1',
                  alias: 'production',
                  from_version: 1,
                  to_version: 2,
                  reason: 'better',
                  actor_id: 'u1',
                  actor_name: 'alice',
                  at: '2030-01-01T00:00:00Z',
                },
              ],
              next_cursor: null,
            },
          }
        : { body: alias },
    );
    const cmds = [
      ['models', 'alias', 'set', 'llama', 'production', '2', '--reason', 'better', '--expect', '1'],
      ['models', 'alias', 'history', 'llama', 'production', '--limit', '5'],
      ['models', 'alias', 'rollback', 'llama', 'production', '--reason', 'oops'],
      ['models', 'alias', 'rm', 'llama', 'production'],
    ];
    for (const args of cmds) expect(await runCli(args, api.ctx), args.join(' ')).toBe(0);
    expect(api.calls.map((c) => [c.method, c.path, c.body ?? c.query])).toEqual([
      [
        'PUT',
        '/api/v1/models/llama/aliases/production',
        { version: 2, reason: 'better', expected_version: 1 },
      ],
      ['GET', '/api/v1/models/llama/aliases/production/history', { limit: '5' }],
      ['POST', '/api/v1/models/llama/aliases/production/rollback', { reason: 'oops' }],
      ['DELETE', '/api/v1/models/llama/aliases/production', {}],
    ]);
    expect(api.out[0]).toBe('production → v2 (was v1).');
    expect(api.out[1]).toMatch(/v1\s+v2\s+alice\s+better/);
  });

  it('retire and promote', async () => {
    const api = scriptedCli((c) =>
      c.path.endsWith('/retire') ? { body: version({ status: 'retired' }) } : { body: alias },
    );
    expect(await runCli(['models', 'retire', 'llama', '2'], api.ctx)).toBe(0);
    expect(await runCli(['models', 'promote', 'llama', '2'], api.ctx)).toBe(0);
    expect(
      await runCli(['models', 'promote', 'llama', '2', '--stage', 'staging', '--reason', 'try'], api.ctx),
    ).toBe(0);
    expect(await runCli(['models', 'promote', 'llama', '2', '--stage', 'canary'], api.ctx)).toBe(2);
    expect(await runCli(['models', 'retire', 'llama', 'two'], api.ctx)).toBe(2);
    expect(api.calls.map((c) => [c.method, c.path, c.body])).toEqual([
      ['POST', '/api/v1/models/llama/versions/2/retire', undefined],
      ['POST', '/api/v1/models/llama/promote', { version: 2, stage: 'production' }],
      ['POST', '/api/v1/models/llama/promote', { version: 2, stage: 'staging', reason: 'try' }],
    ]);
    expect(api.out[0]).toBe('Retired version 2 of llama.');
  });
});
