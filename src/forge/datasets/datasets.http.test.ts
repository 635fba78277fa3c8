import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp, type TestUser } from '../../../test/helpers/app.js';
import { multipart } from '../../../test/helpers/multipart.js';

/**
 * Every dataset route: the happy path, 400/401/403/404, another user's private dataset (404) and a
 * shared one (visible, not writable). Upload failures and limits are in uploads.http.test.ts.
 */
let t: TestApp;
let dev: TestUser;
let other: TestUser;
let plain: TestUser;

const CSV = 'id,price,colour,when,ok\n1,9.5,red,2024-01-01,yes\n2,-3,blue,2024-02-01,no\n3,,red,,yes\n';

function uploadBody(fields: Record<string, string>, file: string | Buffer, filename = 'data.csv') {
  return multipart([
    ...Object.entries(fields).map(([field, value]) => ({ field, value })),
    { file: filename, data: Buffer.isBuffer(file) ? file : Buffer.from(file) },
  ]);
}

async function create(user: TestUser | null, fields: Record<string, string>, file: string = CSV) {
  return t.as(user?.token ?? null, { method: 'POST', url: '/api/v1/datasets', ...uploadBody(fields, file) });
}
const get = (user: TestUser | null, url: string) => t.as(user?.token ?? null, { method: 'GET', url });

beforeAll(async () => {
  t = await createTestApp();
  dev = await t.user('developer');
  other = await t.user('developer');
  plain = await t.user('user');
});
afterAll(async () => t?.close());

describe('POST /datasets', () => {
  it('201: stores version 1 with the inferred schema, statistics and preview', async () => {
    const res = await create(dev, { name: 'houses', description: 'Prices' });
    expect(res.statusCode, res.body).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({
      name: 'houses',
      description: 'Prices',
      visibility: 'private',
      owner_id: dev.id,
      version_count: 1,
      version: {
        version: 1,
        format: 'csv',
        kind: 'tabular',
        rows: 3,
        column_count: 5,
        source_filename: 'data.csv',
      },
    });
    expect(body.version.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(body.schema).toEqual([
      { name: 'id', type: 'numeric', missing: 0 },
      { name: 'price', type: 'numeric', missing: 1 },
      { name: 'colour', type: 'categorical', missing: 0 },
      { name: 'when', type: 'datetime', missing: 1 },
      { name: 'ok', type: 'boolean', missing: 0 },
    ]);
    const price = body.stats.columns[1];
    expect(price).toMatchObject({ min: -3, max: 9.5, mean: 3.25, count: 2 });
    expect(body.versions.map((v: { version: number }) => v.version)).toEqual([1]);
  });
  it('recognises the format by content, not by file name', async () => {
    const res = await t.as(dev.token, {
      method: 'POST',
      url: '/api/v1/datasets',
      ...uploadBody({ name: 'looks-like-csv' }, '[{"a": 1}, {"a": 2}]', 'table.csv'),
    });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().version.format).toBe('json');
  });
  it('recognises chat JSON Lines', async () => {
    const lines = [
      {
        messages: [
          { role: 'user', content: 'Hi' },
          { role: 'assistant', content: 'Hello' },
        ],
      },
      {
        messages: [
          { role: 'system', content: 'Terse.' },
          { role: 'user', content: '2+2?' },
          { role: 'assistant', content: '4' },
        ],
      },
    ];
    const res = await create(dev, { name: 'chat-ft' }, lines.map((l) => JSON.stringify(l)).join('\n'));
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().version).toMatchObject({ format: 'jsonl', kind: 'chat', rows: 2 });
    expect(res.json().stats.chat).toMatchObject({
      conversations: 2,
      turns: { total: 5, min: 2, max: 3 },
      roles: { user: 2, assistant: 2, system: 1 },
    });
  });
  it('400 without a name, with a bad name or visibility, or an unknown field; 409 for a taken name', async () => {
    expect((await create(dev, {})).json().code).toBe('validation_error');
    const bad = await create(dev, { name: 'no spaces please' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors[0].path).toBe('body.name');
    expect((await create(dev, { name: 'vis', visibility: 'public' })).statusCode).toBe(400);
    expect((await create(dev, { name: 'extra', colour: 'red' })).statusCode).toBe(400);
    const taken = await create(other, { name: 'HOUSES' });
    expect(taken.statusCode).toBe(409);
    expect(taken.json().code).toBe('dataset_name_taken');
  });
  it('400 without a file part; 415 when not multipart', async () => {
    const noFile = await t.as(dev.token, {
      method: 'POST',
      url: '/api/v1/datasets',
      ...multipart([{ field: 'name', value: 'nofile' }]),
    });
    expect(noFile.statusCode).toBe(400);
    expect(noFile.json().code).toBe('dataset_file_missing');
    const json = await t.as(dev.token, { method: 'POST', url: '/api/v1/datasets', payload: { name: 'x' } });
    expect(json.statusCode).toBe(415);
  });
  it('401 anonymous, 403 for a role without datasets:write', async () => {
    expect((await create(null, { name: 'anon' })).statusCode).toBe(401);
    const res = await create(plain, { name: 'plain' });
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('permission_denied');
  });
});

describe('reading datasets', () => {
  let id: string;
  beforeAll(async () => {
    id = (await get(dev, '/api/v1/datasets/houses')).json().id;
  });

  it('GET /datasets/:id by id or by name (any case)', async () => {
    const byId = await get(dev, `/api/v1/datasets/${id}`);
    expect(byId.statusCode).toBe(200);
    expect(byId.json().name).toBe('houses');
    expect((await get(dev, '/api/v1/datasets/HOUSES')).json().id).toBe(id);
  });
  it("another user's private dataset is 404 everywhere; admins see it", async () => {
    for (const url of [
      `/api/v1/datasets/${id}`,
      '/api/v1/datasets/houses',
      `/api/v1/datasets/${id}/versions/1`,
      `/api/v1/datasets/${id}/preview`,
      `/api/v1/datasets/${id}/versions/1/export`,
    ]) {
      const res = await get(other, url);
      expect(res.statusCode, url).toBe(404);
      expect(res.json().code).toBe('dataset_not_found');
    }
    const patch = await t.as(other.token, {
      method: 'PATCH',
      url: `/api/v1/datasets/${id}`,
      payload: { description: 'mine now' },
    });
    expect(patch.statusCode).toBe(404);
    expect((await t.as(other.token, { method: 'DELETE', url: `/api/v1/datasets/${id}` })).statusCode).toBe(
      404,
    );
    const upload = await t.as(other.token, {
      method: 'POST',
      url: `/api/v1/datasets/${id}/versions`,
      ...uploadBody({}, CSV),
    });
    expect(upload.statusCode).toBe(404);
    expect((await get(t.admin, `/api/v1/datasets/${id}`)).statusCode).toBe(200);
  });
  it('GET /datasets lists what the caller may see, by name, with a cursor and search', async () => {
    for (const n of ['alpha', 'beta', 'gamma'])
      expect((await create(other, { name: `list-${n}` })).statusCode).toBe(201);
    const mine = await get(other, '/api/v1/datasets?search=list-&limit=2');
    expect(mine.statusCode).toBe(200);
    const page1 = mine.json();
    expect(page1.items.map((d: { name: string }) => d.name)).toEqual(['list-alpha', 'list-beta']);
    expect(page1.items[0].latest_version).toMatchObject({ version: 1, rows: 3 });
    expect(page1.items[0].version_count).toBe(1);
    const page2 = (
      await get(other, `/api/v1/datasets?search=list-&limit=2&cursor=${page1.next_cursor}`)
    ).json();
    expect(page2.items.map((d: { name: string }) => d.name)).toEqual(['list-gamma']);
    expect(page2.next_cursor).toBeNull();
    const all = (await get(other, '/api/v1/datasets?limit=200'))
      .json()
      .items.map((d: { name: string }) => d.name);
    expect(all).not.toContain('houses');
    expect(
      (await get(t.admin, '/api/v1/datasets?limit=200')).json().items.map((d: { name: string }) => d.name),
    ).toContain('houses');
    expect((await get(other, '/api/v1/datasets?cursor=%%%')).statusCode).toBe(400);
    expect((await get(other, '/api/v1/datasets?limit=0')).statusCode).toBe(400);
  });
  it('GET /datasets/:id/versions/:v answers schema and statistics; 404 for a missing version, 400 for a bad one', async () => {
    const res = await get(dev, `/api/v1/datasets/${id}/versions/1`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ dataset_id: id, version: 1, rows: 3 });
    expect(res.json().stats.columns).toHaveLength(5);
    const missing = await get(dev, `/api/v1/datasets/${id}/versions/9`);
    expect(missing.statusCode).toBe(404);
    expect(missing.json().code).toBe('dataset_version_not_found');
    expect((await get(dev, `/api/v1/datasets/${id}/versions/zero`)).statusCode).toBe(400);
  });
  it('GET /datasets/:id/preview answers the first rows in file order', async () => {
    const res = await get(dev, `/api/v1/datasets/${id}/preview?limit=2`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ version: 1, total_rows: 3 });
    expect(res.json().rows).toEqual([
      { id: '1', price: '9.5', colour: 'red', when: '2024-01-01', ok: 'yes' },
      { id: '2', price: '-3', colour: 'blue', when: '2024-02-01', ok: 'no' },
    ]);
    expect(res.json().columns.map((c: { name: string }) => c.name)).toEqual([
      'id',
      'price',
      'colour',
      'when',
      'ok',
    ]);
    expect((await get(dev, `/api/v1/datasets/${id}/preview?limit=0`)).statusCode).toBe(400);
    expect((await get(dev, `/api/v1/datasets/${id}/preview?version=7`)).statusCode).toBe(404);
    expect((await get(null, `/api/v1/datasets/${id}/preview`)).statusCode).toBe(401);
    expect((await get(plain, `/api/v1/datasets/${id}/preview`)).statusCode).toBe(403);
  });
  it('a preview longer than the stored 50 rows is read from the file', async () => {
    const rows = Array.from({ length: 120 }, (_, i) => `${i},${i % 3 === 0 ? 'a' : 'b'}`);
    expect((await create(dev, { name: 'long' }, `n,c\n${rows.join('\n')}\n`)).statusCode).toBe(201);
    const res = (await get(dev, '/api/v1/datasets/long/preview?limit=100')).json();
    expect(res.rows).toHaveLength(100);
    expect(res.rows[99]).toEqual({ n: '99', c: 'a' });
    expect((await get(dev, '/api/v1/datasets/long/preview')).json().rows).toHaveLength(50);
  });
  it('GET .../export streams CSV with formula cells escaped, or JSON Lines', async () => {
    const risky = 'name,formula,n\nalice,=SUM(A1:A9),-4\nbob,@evil,5\ncarol,+cmd,6\n';
    const created = (await create(dev, { name: 'risky' }, risky)).json();
    const csv = await get(dev, `/api/v1/datasets/${created.id}/versions/1/export?format=csv`);
    expect(csv.statusCode).toBe(200);
    expect(csv.headers['content-type']).toContain('text/csv');
    expect(csv.headers['content-disposition']).toContain('risky-v1.csv');
    expect(csv.body).toBe("name,formula,n\r\nalice,'=SUM(A1:A9),-4\r\nbob,'@evil,5\r\ncarol,'+cmd,6\r\n");
    const jsonl = await get(dev, '/api/v1/datasets/risky/versions/1/export?format=jsonl');
    expect(jsonl.statusCode).toBe(200);
    expect(
      jsonl.body
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))[0],
    ).toEqual({
      name: 'alice',
      formula: '=SUM(A1:A9)',
      n: -4,
    });
    expect((await get(dev, '/api/v1/datasets/risky/versions/1/export?format=xml')).statusCode).toBe(400);
    expect((await get(dev, '/api/v1/datasets/risky/versions/2/export')).statusCode).toBe(404);
  });
});

describe('sharing, changing and deleting', () => {
  it('a shared dataset is visible to others but only its owner and admins change it', async () => {
    const created = (await create(dev, { name: 'shared-one', visibility: 'shared' })).json();
    expect(created.visibility).toBe('shared');
    expect((await get(other, `/api/v1/datasets/${created.id}`)).statusCode).toBe(200);
    expect((await get(other, '/api/v1/datasets/shared-one/preview')).statusCode).toBe(200);
    expect((await get(other, '/api/v1/datasets?search=shared-one')).json().items).toHaveLength(1);
    const patch = await t.as(other.token, {
      method: 'PATCH',
      url: `/api/v1/datasets/${created.id}`,
      payload: { description: 'taken over' },
    });
    expect(patch.statusCode).toBe(403);
    expect(patch.json().code).toBe('not_dataset_owner');
    const version = await t.as(other.token, {
      method: 'POST',
      url: `/api/v1/datasets/${created.id}/versions`,
      ...uploadBody({}, CSV),
    });
    expect(version.statusCode).toBe(403);
    expect(
      (await t.as(other.token, { method: 'DELETE', url: `/api/v1/datasets/${created.id}` })).statusCode,
    ).toBe(403);
    // Events about a shared dataset are for everybody who may read datasets; a private one's for its owner.
    const events = await t.app.services.bus.since(0, ['datasets'], 1000, other.id);
    expect(events.some((e) => e.type === 'dataset.created' && e.data.dataset_id === created.id)).toBe(true);
    expect(events.some((e) => e.data.name === 'houses')).toBe(false);
  });
  it('PATCH changes description and visibility (owner, admin); 400 for other fields', async () => {
    const made = (await create(dev, { name: 'patchy' })).json();
    const res = await t.as(dev.token, {
      method: 'PATCH',
      url: '/api/v1/datasets/patchy',
      payload: { description: 'now shared', visibility: 'shared' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ description: 'now shared', visibility: 'shared' });
    expect((await get(other, `/api/v1/datasets/${made.id}`)).statusCode).toBe(200);
    const admin = await t.as(t.admin.token, {
      method: 'PATCH',
      url: `/api/v1/datasets/${made.id}`,
      payload: { visibility: 'private' },
    });
    expect(admin.json().visibility).toBe('private');
    expect((await get(other, `/api/v1/datasets/${made.id}`)).statusCode).toBe(404);
    for (const payload of [{ name: 'renamed' }, { visibility: 'public' }]) {
      const bad = await t.as(dev.token, { method: 'PATCH', url: '/api/v1/datasets/patchy', payload });
      expect(bad.statusCode).toBe(400);
    }
    expect(
      (await t.as(plain.token, { method: 'PATCH', url: '/api/v1/datasets/patchy', payload: {} })).statusCode,
    ).toBe(403);
    expect(
      (await t.as(null, { method: 'PATCH', url: '/api/v1/datasets/patchy', payload: {} })).statusCode,
    ).toBe(401);
    const events = await t.app.services.bus.since(0, ['datasets'], 1000);
    const updates = events.filter((e) => e.type === 'dataset.updated' && e.data.dataset_id === made.id);
    expect(updates.length).toBeGreaterThanOrEqual(2);
    const audit = await get(t.admin, `/api/v1/audit?action=dataset.update&target_id=${made.id}`);
    expect(audit.json().items).toHaveLength(2);
  });
  it('POST /datasets/:id/versions adds version 2 and keeps version 1', async () => {
    const res = await t.as(dev.token, {
      method: 'POST',
      url: '/api/v1/datasets/houses/versions',
      ...uploadBody({}, 'id,price\n1,2\n', 'v2.csv'),
    });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({
      version_count: 2,
      version: { version: 2, rows: 1, source_filename: 'v2.csv' },
    });
    expect(res.json().schema.map((c: { name: string }) => c.name)).toEqual(['id', 'price']);
    const detail = (await get(dev, '/api/v1/datasets/houses')).json();
    expect(detail.versions.map((v: { version: number }) => v.version)).toEqual([2, 1]);
    expect((await get(dev, '/api/v1/datasets/houses/preview?version=1')).json().rows).toHaveLength(3);
    expect((await get(dev, '/api/v1/datasets/houses/preview')).json().version).toBe(2);
    const unknown = await t.as(dev.token, {
      method: 'POST',
      url: '/api/v1/datasets/nope/versions',
      ...uploadBody({}, CSV),
    });
    expect(unknown.statusCode).toBe(404);
    const field = await t.as(dev.token, {
      method: 'POST',
      url: '/api/v1/datasets/houses/versions',
      ...uploadBody({ name: 'again' }, CSV),
    });
    expect(field.statusCode).toBe(400);
    const anon = await t.as(null, {
      method: 'POST',
      url: '/api/v1/datasets/houses/versions',
      ...uploadBody({}, CSV),
    });
    expect(anon.statusCode).toBe(401);
    const events = await t.app.services.bus.since(0, ['datasets'], 1000);
    const created = events.find((e) => e.type === 'dataset.version.created' && e.data.version === 2);
    // A private dataset's events go to its owner only.
    expect(created?.user_id).toBe(dev.id);
  });
  it('DELETE removes the dataset, its versions and its blobs', async () => {
    const body = 'k,v\nunique-to-this-test,1\n';
    const made = (await create(dev, { name: 'doomed' }, body)).json();
    const store = t.app.services.registry.store;
    expect(await store.has(made.version.sha256)).toBe(true);
    expect(
      (await t.as(plain.token, { method: 'DELETE', url: `/api/v1/datasets/${made.id}` })).statusCode,
    ).toBe(403);
    expect((await t.as(null, { method: 'DELETE', url: `/api/v1/datasets/${made.id}` })).statusCode).toBe(401);
    const res = await t.as(dev.token, { method: 'DELETE', url: `/api/v1/datasets/${made.id}` });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ id: made.id, deleted: true, blobs_freed: 1 });
    expect(await store.has(made.version.sha256)).toBe(false);
    expect((await get(dev, `/api/v1/datasets/${made.id}`)).statusCode).toBe(404);
    expect((await t.as(dev.token, { method: 'DELETE', url: `/api/v1/datasets/${made.id}` })).statusCode).toBe(
      404,
    );
    const audit = await get(t.admin, `/api/v1/audit?action=dataset.delete&target_id=${made.id}`);
    expect(audit.json().items).toHaveLength(1);
  });
  it('a blob two datasets share stays until the last one goes', async () => {
    const body = 'k,v\nshared-bytes,1\n';
    const a = (await create(dev, { name: 'twin-a' }, body)).json();
    const b = (await create(dev, { name: 'twin-b' }, body)).json();
    expect(a.version.sha256).toBe(b.version.sha256);
    expect(
      (await t.as(dev.token, { method: 'DELETE', url: '/api/v1/datasets/twin-a' })).json().blobs_freed,
    ).toBe(0);
    expect(await t.app.services.registry.store.has(b.version.sha256)).toBe(true);
    // The registry's collector must not take dataset blobs for unreferenced model files.
    await t.app.services.registry.collectGarbage({ graceMs: 0 });
    expect(await t.app.services.registry.store.has(b.version.sha256)).toBe(true);
    expect((await get(dev, '/api/v1/datasets/twin-b/versions/1/export')).body).toBe(
      'k,v\r\nshared-bytes,1\r\n',
    );
  });
});

describe('OpenAPI', () => {
  it('documents every dataset route and its schemas', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json();
    expect(doc.paths['/api/v1/datasets']?.post).toBeTruthy();
    expect(doc.paths['/api/v1/datasets']?.get).toBeTruthy();
    for (const m of ['get', 'patch', 'delete']) expect(doc.paths['/api/v1/datasets/{id}']?.[m]).toBeTruthy();
    expect(doc.paths['/api/v1/datasets/{id}/versions']?.post).toBeTruthy();
    expect(doc.paths['/api/v1/datasets/{id}/versions/{version}']?.get).toBeTruthy();
    expect(doc.paths['/api/v1/datasets/{id}/preview']?.get).toBeTruthy();
    expect(doc.paths['/api/v1/datasets/{id}/versions/{version}/export']?.get).toBeTruthy();
    expect(doc.components.schemas.DatasetColumnStats.properties.quantiles).toBeTruthy();
    expect(doc.components.schemas.DatasetVersion).toBeTruthy();
  });
});
