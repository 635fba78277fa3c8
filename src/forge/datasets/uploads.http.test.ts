import { count } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp, type TestUser } from '../../../test/helpers/app.js';
import { multipart } from '../../../test/helpers/multipart.js';
import { datasets, datasetVersions } from './tables.js';

/**
 * Uploads that must be refused, and what they leave behind: nothing. Limits are lowered through
 * the forge/datasets settings so the 413 paths run on small files.
 */
let t: TestApp;
let dev: TestUser;

const body = (fields: Record<string, string>, file: string | Buffer, filename = 'data.csv') =>
  multipart([
    ...Object.entries(fields).map(([field, value]) => ({ field, value })),
    { file: filename, data: Buffer.isBuffer(file) ? file : Buffer.from(file) },
  ]);
const upload = (fields: Record<string, string>, file: string | Buffer, filename?: string) =>
  t.as(dev.token, { method: 'POST', url: '/api/v1/datasets', ...body(fields, file, filename) });
const addVersion = (id: string, file: string | Buffer) =>
  t.as(dev.token, { method: 'POST', url: `/api/v1/datasets/${id}/versions`, ...body({}, file) });

/** Datasets, versions, blobs and unfinished temporary uploads: all must stay put after a refusal. */
async function footprint() {
  const db = t.database.db;
  const [d] = await db.select({ n: count() }).from(datasets);
  const [v] = await db.select({ n: count() }).from(datasetVersions);
  let blobs = 0;
  for await (const _ of t.app.services.registry.store.list()) blobs++;
  // Anything left in the store's temporary area counts too (a far-future cutoff sweeps all of it).
  const temporary = await t.app.services.registry.store.sweepTemporary(new Date(Date.now() + 86_400_000));
  return { datasets: d!.n, versions: v!.n, blobs, temporary };
}

async function refused(
  res: Awaited<ReturnType<typeof upload>>,
  status: number,
  code: string,
  before: Awaited<ReturnType<typeof footprint>>,
) {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toContain('application/problem+json');
  expect(res.json().code).toBe(code);
  expect(await footprint()).toEqual(before);
  return res.json() as { detail: string; errors?: { path: string; message: string }[] };
}

beforeAll(async () => {
  t = await createTestApp({
    deps: {
      settingsOverrides: {
        'security/auth': { login_per_minute: 10_000 },
        'forge/datasets': { max_upload_mb: 1, max_rows: 1000, max_columns: 20 },
      },
    },
  });
  dev = await t.user('developer');
});
afterAll(async () => t?.close());

describe('malformed files: 400 naming the place, nothing stored', () => {
  it('CSV with a ragged row', async () => {
    const before = await footprint();
    const csv = `a,b,c\n${'1,2,3\n'.repeat(2000 / 6)}4,5\n`;
    const res = await refused(await upload({ name: 'ragged' }, csv), 400, 'dataset_malformed', before);
    expect(res.detail).toMatch(/^line 335, row 334: 2 fields where the header has 3; column 'c' is missing$/);
    expect(res.errors?.[0]?.path).toBe('body.file');
    expect((await t.as(dev.token, { method: 'GET', url: '/api/v1/datasets/ragged' })).statusCode).toBe(404);
  });
  it('CSV with an unterminated quote', async () => {
    const before = await footprint();
    const res = await refused(
      await upload({ name: 'quote' }, 'a,b\n1,"open\n2,3\n'),
      400,
      'dataset_malformed',
      before,
    );
    expect(res.detail).toBe("row 1, column 'b': a quoted field is never closed (the file ends at line 3)");
  });
  it('a JSON syntax error', async () => {
    const before = await footprint();
    const res = await refused(
      await upload({ name: 'badjson' }, '[\n{"a": 1},\n{"a": 2,,}\n]'),
      400,
      'dataset_malformed',
      before,
    );
    expect(res.detail).toBe("line 3, column 9: JSON syntax error: unexpected ','");
  });
  it('a JSON Lines line that is not an object', async () => {
    const before = await footprint();
    const res = await refused(
      await upload({ name: 'badjsonl' }, '{"a": 1}\n{"a": 2}\n[3]\n'),
      400,
      'dataset_malformed',
      before,
    );
    expect(res.detail).toBe('line 3: the line holds an array, not a JSON object');
  });
  it('a malformed file as a new version leaves the dataset as it was', async () => {
    const made = (await upload({ name: 'stable' }, 'a\n1\n')).json();
    const before = await footprint();
    await refused(await addVersion(made.id, 'a\n1\n2,3\n'), 400, 'dataset_malformed', before);
    const detail = (await t.as(dev.token, { method: 'GET', url: `/api/v1/datasets/${made.id}` })).json();
    expect(detail.version_count).toBe(1);
    expect((await addVersion(made.id, 'a\n5\n')).json().version.version).toBe(2);
  });
  it('binary content, an empty file and a header without rows', async () => {
    const before = await footprint();
    const zip = Buffer.from([0x50, 0x4b, 0x03, 0x04, 0, 0, 0, 0]);
    await refused(await upload({ name: 'zip' }, zip, 'data.csv'), 400, 'dataset_format_unsupported', before);
    await refused(
      await upload({ name: 'nul' }, Buffer.from('a,b\n1,\0\n')),
      400,
      'dataset_format_unsupported',
      before,
    );
    await refused(await upload({ name: 'empty' }, ''), 400, 'dataset_empty', before);
    await refused(await upload({ name: 'header' }, 'a,b,c\n'), 400, 'dataset_empty', before);
    await refused(await upload({ name: 'nothing' }, '[]'), 400, 'dataset_empty', before);
  });
  it('a second file part is refused', async () => {
    const before = await footprint();
    const res = await t.as(dev.token, {
      method: 'POST',
      url: '/api/v1/datasets',
      ...multipart([
        { field: 'name', value: 'two-files' },
        { file: 'a.csv', data: Buffer.from('a\nonly-in-the-two-file-test\n') },
        { file: 'b.csv', data: Buffer.from('b\n2\n') },
      ]),
    });
    expect(res.statusCode).toBe(400);
    // The first file was stored before the second arrived; it is removed again.
    expect(await footprint()).toEqual(before);
  });
  it('a taken name sent before the file is refused before the file is read', async () => {
    expect((await upload({ name: 'taken' }, 'a\n1\n')).statusCode).toBe(201);
    const before = await footprint();
    await refused(await upload({ name: 'Taken' }, 'x\n1\n2\n'), 409, 'dataset_name_taken', before);
  });
  it('a name sent after the file works, and a taken one is caught then too', async () => {
    const after = await t.as(dev.token, {
      method: 'POST',
      url: '/api/v1/datasets',
      ...multipart([
        { file: 'late.csv', data: Buffer.from('a\n1\n') },
        { field: 'name', value: 'late-name' },
        { field: 'visibility', value: 'shared' },
      ]),
    });
    expect(after.statusCode, after.body).toBe(201);
    expect(after.json()).toMatchObject({ name: 'late-name', visibility: 'shared' });
    const before = await footprint();
    const again = await t.as(dev.token, {
      method: 'POST',
      url: '/api/v1/datasets',
      ...multipart([
        { file: 'late.csv', data: Buffer.from('a\nunique-late\n') },
        { field: 'name', value: 'late-name' },
      ]),
    });
    await refused(again, 409, 'dataset_name_taken', before);
  });
});

describe('limits: 413, nothing stored', () => {
  it('a file over max_upload_mb', async () => {
    const before = await footprint();
    const row = 'x'.repeat(99);
    const big = `col\n${`${row}\n`.repeat(Math.ceil((1024 * 1024) / 100) + 10)}`;
    const res = await refused(await upload({ name: 'big' }, big), 413, 'dataset_too_large', before);
    expect(res.detail).toMatch(/larger than the upload limit of 1048576 bytes/);
  });
  it('more rows than max_rows', async () => {
    const before = await footprint();
    const rows = `n\n${Array.from({ length: 1001 }, (_, i) => i).join('\n')}\n`;
    const res = await refused(await upload({ name: 'tall' }, rows), 413, 'dataset_too_large', before);
    expect(res.detail).toMatch(/more than 1000 rows/);
    expect(
      (await upload({ name: 'just-fits' }, `n\n${Array.from({ length: 1000 }, (_, i) => i).join('\n')}\n`))
        .statusCode,
    ).toBe(201);
  });
  it('more columns than max_columns', async () => {
    const before = await footprint();
    const header = Array.from({ length: 21 }, (_, i) => `c${i}`).join(',');
    const res = await refused(
      await upload({ name: 'wide' }, `${header}\n${'1,'.repeat(20)}1\n`),
      413,
      'dataset_too_large',
      before,
    );
    expect(res.detail).toMatch(/more than 20 columns/);
  });
  it('the limit follows the setting without a restart', async () => {
    const put = await t.as(t.admin.token, {
      method: 'PUT',
      url: '/api/v1/settings/forge/datasets',
      payload: { max_rows: 2 },
    });
    expect(put.statusCode, put.body).toBe(200);
    const before = await footprint();
    await refused(await upload({ name: 'three' }, 'n\n1\n2\n3\n'), 413, 'dataset_too_large', before);
  });
});
