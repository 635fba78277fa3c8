import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseMultipart, problem, scriptedCli } from '../../../test/helpers/scripted-api.js';
import { runCli } from '../program.js';
import { nameFromFile } from './datasets.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'polar-datasets-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const CSV = 'age,plan,churned\n31,basic,no\n45,pro,yes\n';

const versionSummary = (over: Record<string, unknown> = {}) => ({
  version: 1,
  format: 'csv',
  kind: 'tabular',
  size: CSV.length,
  sha256: 'a'.repeat(64),
  rows: 2,
  column_count: 3,
  source_filename: 'churn.csv',
  created_by: 'u1',
  created_at: '2030-01-01T00:00:00Z',
  ...over,
});
const schema = [
  { name: 'age', type: 'numeric', missing: 0 },
  { name: 'plan', type: 'categorical', missing: 0 },
  { name: 'churned', type: 'categorical', missing: 1 },
];
const stats = {
  columns: [
    {
      name: 'age',
      type: 'numeric',
      count: 2,
      missing: 0,
      distinct: 2,
      distinct_exact: true,
      min: 31,
      max: 45,
      mean: 38.123456,
    },
    {
      name: 'plan',
      type: 'categorical',
      count: 2,
      missing: 0,
      distinct: 2,
      distinct_exact: true,
      top: [
        { value: 'basic', count: 1 },
        { value: 'pro', count: 1 },
      ],
    },
  ],
};
const dataset = (over: Record<string, unknown> = {}) => ({
  id: 'd1',
  name: 'churn',
  description: '',
  owner_id: 'u1',
  visibility: 'private',
  version_count: 1,
  latest_version: versionSummary(),
  created_at: '2030-01-01T00:00:00Z',
  updated_at: '2030-01-01T00:00:00Z',
  versions: [versionSummary()],
  schema,
  stats,
  ...over,
});
const uploadResult = (v = 1) => ({
  ...dataset(),
  version: { ...versionSummary({ version: v }), dataset_id: 'd1', schema, stats },
});

function csvFile(name = 'churn.csv', text = CSV) {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('polar datasets upload', () => {
  it('streams the file with name, description and visibility, drawing a bar on a terminal', async () => {
    const api = scriptedCli(() => ({ status: 201, body: uploadResult() }), { tty: true });
    const file = csvFile();
    const args = ['datasets', 'upload', file, '--name', 'customers', '-d', 'Q1 export', '--shared'];
    expect(await runCli(args, api.ctx)).toBe(0);
    const call = api.calls[0]!;
    expect([call.method, call.path]).toEqual(['POST', '/api/v1/datasets']);
    expect(call.headers.get('content-length')).toBe(String(call.raw!.length));
    expect(parseMultipart(call.raw!, call.headers.get('content-type')!)).toEqual([
      { name: 'name', value: 'customers' },
      { name: 'description', value: 'Q1 export' },
      { name: 'visibility', value: 'shared' },
      { name: 'file', filename: 'churn.csv', value: CSV },
    ]);
    const bar = api.stderr.join('');
    expect(bar).toContain('churn.csv');
    expect(bar).toMatch(/100%/);
    expect(api.stderr.at(-1)).toBe('\n');
    expect(api.out[0]).toMatch(/^Uploaded churn version 1: 2 rows × 3 columns \(csv, 4\d B\), id d1\.\n/);
    expect(api.out[0]).toMatch(/churned\s+categorical\s+1/);
  });

  it('names the dataset after the file, draws no bar off a terminal, and --json prints the answer', async () => {
    const api = scriptedCli(() => ({ status: 201, body: uploadResult() }));
    expect(
      await runCli(['datasets', 'upload', csvFile('sales.2030.jsonl', '{"a":1}\n'), '--json'], api.ctx),
    ).toBe(0);
    const parts = parseMultipart(api.calls[0]!.raw!, api.calls[0]!.headers.get('content-type')!);
    expect(parts).toEqual([
      { name: 'name', value: 'sales.2030' },
      { name: 'file', filename: 'sales.2030.jsonl', value: '{"a":1}\n' },
    ]);
    expect(api.stderr).toEqual([]);
    expect(JSON.parse(api.out.join('\n'))).toEqual(uploadResult());
    expect(nameFromFile('/x/y/churn.csv')).toBe('churn');
  });

  it('--to adds a version to an existing dataset with the file alone', async () => {
    const api = scriptedCli(() => ({ status: 201, body: uploadResult(2) }));
    expect(await runCli(['datasets', 'upload', csvFile(), '--to', 'my.data'], api.ctx)).toBe(0);
    const call = api.calls[0]!;
    expect([call.method, call.path]).toEqual(['POST', '/api/v1/datasets/my.data/versions']);
    expect(parseMultipart(call.raw!, call.headers.get('content-type')!)).toEqual([
      { name: 'file', filename: 'churn.csv', value: CSV },
    ]);
    expect(api.out[0]).toMatch(/^Uploaded churn version 2/);
  });

  it('refuses bad arguments before sending anything, and maps refusals to exit codes', async () => {
    const api = scriptedCli(() => ({ status: 201, body: uploadResult() }));
    expect(await runCli(['datasets', 'upload', join(dir, 'missing.csv')], api.ctx)).toBe(2);
    expect(await runCli(['datasets', 'upload', dir], api.ctx)).toBe(2);
    expect(await runCli(['datasets', 'upload', csvFile(), '--to', 'churn', '--name', 'x'], api.ctx)).toBe(2);
    expect(api.calls).toHaveLength(0);
    expect(api.err.join('\n')).toMatch(/No such file or directory: .*missing\.csv/);

    const bad = scriptedCli(() => ({
      status: 400,
      body: {
        type: 'about:blank',
        title: 'Bad Request',
        status: 400,
        detail: 'The upload is not valid',
        code: 'invalid_dataset_field',
        request_id: 'r1',
        errors: [{ path: 'name', message: "use letters, digits, '.', '_' and '-'" }],
      },
    }));
    expect(await runCli(['datasets', 'upload', csvFile('my data.csv')], bad.ctx)).toBe(2);
    expect(bad.err.join('\n')).toMatch(/invalid_dataset_field, HTTP 400\)\n {2}name: use letters/);
    const tooBig = scriptedCli(() => problem(413, 'dataset_too_large', 'The file exceeds 1 GB'));
    expect(await runCli(['datasets', 'upload', csvFile()], tooBig.ctx)).toBe(2);
    const missing = scriptedCli(() => problem(404, 'dataset_not_found'));
    expect(await runCli(['datasets', 'upload', csvFile(), '--to', 'nope'], missing.ctx)).toBe(5);
  });
});

describe('polar datasets', () => {
  it('ls prints a table and --all-pages follows the cursor', async () => {
    const api = scriptedCli((c) =>
      c.query.cursor === 'p2'
        ? { body: { items: [dataset({ id: 'd2', name: 'sales', latest_version: null })], next_cursor: null } }
        : { body: { items: [dataset()], next_cursor: 'p2' } },
    );
    expect(await runCli(['datasets', 'ls', '--search', 'ch', '-n', '1', '--all-pages'], api.ctx)).toBe(0);
    expect(api.calls.map((c) => c.query)).toEqual([
      { search: 'ch', limit: '1' },
      { search: 'ch', limit: '1', cursor: 'p2' },
    ]);
    const text = api.out.join('\n');
    expect(text).toMatch(/^NAME\s+LATEST\s+ROWS\s+COLS\s+FORMAT\s+SIZE\s+VISIBILITY/);
    expect(text).toMatch(/churn\s+v1\s+2\s+3\s+csv\s+4\d B\s+private/);
    expect(text).toMatch(/sales\s+-\s+-\s+-\s+-\s+-\s+private/);
    expect(api.err).toEqual([]);
  });

  it('show prints the fields, the versions and the column statistics; -v shows one version', async () => {
    const api = scriptedCli((c) =>
      c.path.endsWith('/versions/1')
        ? { body: { ...versionSummary(), dataset_id: 'd1', schema, stats } }
        : { body: dataset({ description: 'customers' }) },
    );
    expect(await runCli(['datasets', 'show', 'churn'], api.ctx)).toBe(0);
    expect(await runCli(['datasets', 'show', 'churn', '-v', '1'], api.ctx)).toBe(0);
    expect(api.calls.map((c) => c.path)).toEqual([
      '/api/v1/datasets/churn',
      '/api/v1/datasets/churn/versions/1',
    ]);
    expect(api.out[0]).toMatch(/description:\s+customers/);
    expect(api.out[0]).toMatch(/Versions:\nVERSION\s+ROWS/);
    expect(api.out[0]).toMatch(/age\s+numeric\s+0\s+2\s+31\s+45\s+38\.12\s+-/);
    expect(api.out[0]).toMatch(/plan\s+categorical\s+0\s+2\s+-\s+-\s+-\s+basic \(1\), pro \(1\)/);
    expect(api.out[1]).toMatch(/sha256:\s+a{64}/);
    expect(await runCli(['datasets', 'show', 'churn', '-v', '0'], api.ctx)).toBe(2);
  });

  it('preview sends the limit and version and prints the rows under their columns', async () => {
    const api = scriptedCli(() => ({
      body: {
        dataset_id: 'd1',
        version: 2,
        columns: schema,
        rows: [
          { age: 31, plan: 'basic', churned: 'no' },
          { age: 45, plan: 'pro', churned: null },
        ],
        total_rows: 500,
      },
    }));
    expect(await runCli(['datasets', 'preview', 'churn', '--limit', '2', '-v', '2'], api.ctx)).toBe(0);
    expect(api.calls[0]).toMatchObject({
      path: '/api/v1/datasets/churn/preview',
      query: { limit: '2', version: '2' },
    });
    expect(api.out[0]!.split('\n')).toEqual([
      'AGE  PLAN   CHURNED',
      '31   basic  no',
      '45   pro',
      '(2 of 500 rows, version 2)',
    ]);
    expect(await runCli(['datasets', 'preview', 'churn', '--limit', '5000'], api.ctx)).toBe(2);
  });

  it('export finds the newest version and writes the file; without -o it prints to standard output', async () => {
    const api = scriptedCli((c) =>
      c.path.endsWith('/export')
        ? {
            bytes: c.query.format === 'jsonl' ? '{"age":31}\n' : CSV,
            headers: { 'content-type': 'text/csv' },
          }
        : { body: dataset({ latest_version: versionSummary({ version: 3 }) }) },
    );
    const out = join(dir, 'out.csv');
    expect(await runCli(['datasets', 'export', 'churn', '-o', out], api.ctx)).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(CSV);
    expect(api.calls.map((c) => [c.path, c.query])).toEqual([
      ['/api/v1/datasets/churn', {}],
      ['/api/v1/datasets/churn/versions/3/export', { format: 'csv' }],
    ]);
    expect(api.out).toEqual([`Wrote ${out} (churn version 3, csv, ${CSV.length} B).`]);

    const stdout = scriptedCli((c) =>
      c.path.endsWith('/export') ? { bytes: '{"age":31}\n' } : { body: {} },
    );
    expect(await runCli(['datasets', 'export', 'churn', '-v', '1', '--format', 'jsonl'], stdout.ctx)).toBe(0);
    expect(stdout.calls.map((c) => c.path)).toEqual(['/api/v1/datasets/churn/versions/1/export']);
    expect(stdout.out).toEqual(['{"age":31}']);

    const streamed: string[] = [];
    stdout.ctx.stdout = { isTTY: false, write: (s) => void streamed.push(s) };
    expect(await runCli(['datasets', 'export', 'churn', '-v', '1', '--format', 'jsonl'], stdout.ctx)).toBe(0);
    expect(streamed.join('')).toBe('{"age":31}\n');
  });

  it('export of a missing version fails without leaving a file; a bad format is a usage error', async () => {
    const api = scriptedCli(() => problem(404, 'dataset_version_not_found'));
    const out = join(dir, 'out.csv');
    expect(await runCli(['datasets', 'export', 'churn', '-v', '9', '-o', out], api.ctx)).toBe(5);
    expect(existsSync(out)).toBe(false);
    expect(await runCli(['datasets', 'export', 'churn', '--format', 'xlsx'], api.ctx)).toBe(2);
    const empty = scriptedCli(() => ({ body: dataset({ latest_version: null, versions: [] }) }));
    expect(await runCli(['datasets', 'export', 'churn'], empty.ctx)).toBe(2);
    expect(empty.err.join('\n')).toMatch(/Dataset churn has no version yet/);
  });

  it('delete needs --yes off a terminal, asks on one, and reports what was freed', async () => {
    const api = scriptedCli(() => ({ body: { id: 'd1', deleted: true, blobs_freed: 2 } }));
    expect(await runCli(['datasets', 'delete', 'churn'], api.ctx)).toBe(2);
    expect(api.calls).toHaveLength(0);
    expect(await runCli(['datasets', 'rm', 'churn', '--yes'], api.ctx)).toBe(0);
    expect(api.calls[0]).toMatchObject({ method: 'DELETE', path: '/api/v1/datasets/churn' });
    expect(api.out).toEqual(['Deleted dataset churn (2 stored files freed).']);

    const asked = scriptedCli(() => ({ body: { id: 'd1', deleted: true, blobs_freed: 0 } }), {
      answers: ['n'],
    });
    asked.ctx.prompter = { ...asked.ctx.prompter, interactive: true };
    expect(await runCli(['datasets', 'delete', 'churn'], asked.ctx)).toBe(1);
    expect(asked.calls).toHaveLength(0);
    const forbidden = scriptedCli(() => problem(403, 'forbidden'));
    expect(await runCli(['datasets', 'delete', 'churn', '--yes'], forbidden.ctx)).toBe(4);
  });
});
