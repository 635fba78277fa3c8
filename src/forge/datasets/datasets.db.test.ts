import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { eq } from 'drizzle-orm';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabase } from '../../../test/helpers/db.js';
import { LocalArtifactStore } from '../../core/artifacts/local.js';
import { createRegistryRepository } from '../../core/registry/repository.js';
import { createAuditRepository } from '../../hub/audit/repository.js';
import { createAuditService } from '../../hub/audit/service.js';
import { permissionsOf } from '../../hub/auth/permissions.js';
import type { RequestContext } from '../../hub/auth/principal.js';
import { users } from '../../hub/tables.js';
import type { Database } from '../../platform/db/client.js';
import { createEventBus } from '../../platform/events/bus.js';
import type { NumericColumn } from '../frame/frame.js';
import { createDatasets, type Datasets, readFrame } from './index.js';
import { datasetVersions } from './tables.js';
import type { UploadPart } from './uploads.js';

let database: Database;
let dir: string;
let store: LocalArtifactStore;
let datasets: Datasets;

const ctxOf = (userId: string, role: 'developer' | 'admin' = 'developer'): RequestContext => ({
  principal: { userId, username: userId, role, permissions: permissionsOf(role), via: 'session' },
  requestId: 'test',
  ip: '127.0.0.1',
});
const owner = ctxOf('owner0000001');
const stranger = ctxOf('other0000001');

async function* parts(
  fields: Record<string, string>,
  file: string,
  filename = 'data.csv',
): AsyncGenerator<UploadPart> {
  for (const [name, value] of Object.entries(fields)) yield { kind: 'field', name, value };
  yield {
    kind: 'file',
    filename,
    stream: (async function* () {
      yield Buffer.from(file);
    })(),
  };
}

beforeAll(async () => {
  database = await testDatabase();
  dir = mkdtempSync(join(tmpdir(), 'polar-datasets-db-'));
  store = new LocalArtifactStore(join(dir, 'store'));
  const log = pino({ level: 'silent' });
  const bus = createEventBus(database.db);
  await database.db.insert(users).values([
    { id: 'owner0000001', username: 'owner', passwordHash: 'x', role: 'developer' },
    { id: 'other0000001', username: 'other', passwordHash: 'x', role: 'developer' },
  ]);
  datasets = createDatasets({
    db: database.db,
    store,
    registryRepo: createRegistryRepository(database.db),
    audit: createAuditService({ repo: createAuditRepository(database.db), bus, log }),
    bus,
    settings: { get: (def) => def.schema.parse({}) as never },
    log,
    dataDir: dir,
  });
});
afterAll(async () => {
  await database?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('versions under concurrency', () => {
  it('20 parallel uploads get versions 1..20, no gaps, no repeats', async () => {
    const first = await datasets.uploads.create(owner, parts({ name: 'busy' }, 'a,b\n0,0\n'));
    expect(first.version.version).toBe(1);
    const results = await Promise.all(
      Array.from({ length: 19 }, (_, i) =>
        datasets.uploads.addVersion(owner, 'busy', parts({}, `a,b\n${i + 1},${i}\n`)),
      ),
    );
    const numbers = [1, ...results.map((r) => r.version.version)].sort((x, y) => x - y);
    expect(numbers).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    const rows = await database.db
      .select({ v: datasetVersions.version })
      .from(datasetVersions)
      .where(eq(datasetVersions.datasetId, first.id));
    expect(rows.map((r) => r.v).sort((x, y) => x - y)).toEqual(numbers);
  });
  it('a refused upload between others leaves no gap', async () => {
    const made = await datasets.uploads.create(owner, parts({ name: 'gapless' }, 'x\n1\n'));
    await expect(datasets.uploads.addVersion(owner, made.id, parts({}, 'x,y\n1\n'))).rejects.toMatchObject({
      code: 'dataset_malformed',
    });
    const next = await datasets.uploads.addVersion(owner, made.id, parts({}, 'x\n2\n'));
    expect(next.version.version).toBe(2);
  });
});

describe('fileFor and readFrame', () => {
  it('lays out a version as a local file that a child process reads into a frame without the database', async () => {
    const made = await datasets.uploads.create(
      owner,
      parts({ name: 'for-training' }, 'x,label,when\n1.5,yes,2024-01-01\n,no,\n3,yes,2024-01-03\n'),
    );
    const file = await datasets.fileFor(owner, 'for-training');
    expect(file).toMatchObject({ format: 'csv', kind: 'tabular', rows: 3, datasetId: made.id, version: 1 });
    expect(file.schema.map((c) => c.type)).toEqual(['numeric', 'boolean', 'datetime']);
    const frame = await readFrame(file.path, file.format, file.schema);
    expect(Array.from((frame.columns[0] as NumericColumn).values)).toEqual([1.5, Number.NaN, 3]);

    const script = join(dir, 'read.mts');
    writeFileSync(
      script,
      `import { readFrame } from ${JSON.stringify(join(process.cwd(), 'src/forge/datasets/frame-reader.ts'))};
const [path, format, schema] = process.argv.slice(2);
const f = await readFrame(path, format, JSON.parse(schema));
console.log(JSON.stringify({ length: f.length, columns: f.columns.map((c) => [c.name, c.type, Array.from(c.values)]) }));`,
    );
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', script, file.path, file.format, JSON.stringify(file.schema)],
      { env: { PATH: process.env.PATH ?? '' }, timeout: 30_000 },
    );
    expect(JSON.parse(stdout)).toEqual({
      length: 3,
      columns: [
        ['x', 'numeric', [1.5, null, 3]],
        ['label', 'boolean', [1, 0, 1]],
        ['when', 'datetime', [Date.UTC(2024, 0, 1), null, Date.UTC(2024, 0, 3)]],
      ],
    });
  });
  it('follows the same access rules as the API', async () => {
    await expect(datasets.fileFor(stranger, 'for-training')).rejects.toMatchObject({ status: 404 });
    await expect(datasets.fileFor(owner, 'for-training', 5)).rejects.toMatchObject({
      code: 'dataset_version_not_found',
    });
    expect((await datasets.fileFor(ctxOf('admin0000001', 'admin'), 'for-training')).version).toBe(1);
  });
  it('deleting the dataset removes the laid-out file', async () => {
    const file = await datasets.fileFor(owner, 'for-training');
    await datasets.service.remove(owner, 'for-training');
    await expect(readFrame(file.path, file.format, file.schema)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
