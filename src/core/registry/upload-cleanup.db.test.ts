import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeGguf } from '../../../test/fixtures/models/gguf.js';
import { testDatabase } from '../../../test/helpers/db.js';
import { createMaintenanceHooks } from '../../hub/admin/maintenance.js';
import { createAuditRepository } from '../../hub/audit/repository.js';
import { createAuditService } from '../../hub/audit/service.js';
import { permissionsOf } from '../../hub/auth/permissions.js';
import type { RequestContext } from '../../hub/auth/principal.js';
import { users } from '../../hub/tables.js';
import type { Database } from '../../platform/db/client.js';
import { createEventBus } from '../../platform/events/bus.js';
import { LocalArtifactStore } from '../artifacts/local.js';
import { createRegistry, type Registry } from './index.js';
import type { UploadPart } from './versions.js';

let database: Database;
let dir: string;
let registry: Registry;
let store: LocalArtifactStore;

const ctx: RequestContext = {
  principal: {
    userId: 'owner0000001',
    username: 'owner',
    role: 'developer',
    permissions: permissionsOf('developer'),
    via: 'session',
  },
  requestId: 'test',
  ip: '127.0.0.1',
};

beforeAll(async () => {
  database = await testDatabase();
  dir = mkdtempSync(join(tmpdir(), 'polar-upload-cleanup-'));
  store = new LocalArtifactStore(dir);
  const log = pino({ level: 'silent' });
  const bus = createEventBus(database.db);
  await database.db
    .insert(users)
    .values({ id: 'owner0000001', username: 'owner', passwordHash: 'x', role: 'developer' });
  registry = createRegistry({
    db: database.db,
    store,
    audit: createAuditService({ repo: createAuditRepository(database.db), bus, log }),
    bus,
    settings: { get: (def) => def.schema.parse({}) as never },
    maintenance: createMaintenanceHooks(),
    log,
    maxUploadBytes: 1024 * 1024,
  });
});
afterAll(async () => {
  await database?.close();
  rmSync(dir, { recursive: true, force: true });
});

type Part = [name: string, data: Buffer] | { field: string; value: string };
/** Upload parts in order; `between` runs after each file part was consumed (a concurrent actor). */
async function* parts(list: Part[], between?: (i: number) => Promise<void>): AsyncGenerator<UploadPart> {
  for (const [i, p] of list.entries()) {
    if (Array.isArray(p)) yield { kind: 'file', filename: p[0], stream: Readable.from([p[1]]) };
    else yield { kind: 'field', name: p.field, value: p.value };
    await between?.(i);
  }
}

const digest = (data: Buffer) => createHash('sha256').update(data).digest('hex');
/** Stores bytes the way another upload or an import would. */
const storeElsewhere = async (data: Buffer) => (await store.put(Readable.from([data]))).sha256;
const gguf = (tag: string) => writeGguf([['general.name', { t: 'string', v: tag }]], []);
/** A protocol-0 pickle under an innocent name: refused by content, after the files before it were stored. */
const textPickle = Buffer.from('(dp0\nVweight\np1\nF1.0\ns.', 'latin1');
let n = 0;
const newModel = () =>
  registry.models.create(ctx, {
    name: `cleanup-${++n}`,
    task: 'chat',
    description: '',
    tags: [],
    visibility: 'internal',
  });

describe('a multi-file upload that fails part-way', () => {
  it('deletes the blobs it created at once', async () => {
    const m = await newModel();
    const a = gguf('created-a');
    const b = Buffer.from('{"model_type":"llama","note":"created-b"}');
    await expect(
      registry.versions.upload(
        ctx,
        m.id,
        parts([
          ['model.gguf', a],
          ['config.json', b],
          ['weights.json', textPickle],
        ]),
      ),
    ).rejects.toMatchObject({ code: 'pickle_refused' });
    for (const d of [a, b]) expect(await store.has(digest(d))).toBe(false);
    expect(await registry.versions.get(ctx, m.id, 1).catch((e) => e.code)).toBe('version_not_found');
  });

  it('also when the failure comes after the files, from a bad field', async () => {
    const m = await newModel();
    const a = gguf('created-late');
    await expect(
      registry.versions.upload(
        ctx,
        m.id,
        parts([['model.gguf', a], { field: 'lineage', value: '{not json' }]),
      ),
    ).rejects.toMatchObject({ code: 'validation_error' });
    expect(await store.has(digest(a))).toBe(false);
  });

  it('keeps a blob another version references', async () => {
    const m = await newModel();
    const shared = gguf('shared');
    const v1 = await registry.versions.upload(ctx, m.id, parts([['model.gguf', shared]]));
    await expect(
      registry.versions.upload(
        ctx,
        m.id,
        parts([
          ['copy.gguf', shared],
          ['weights.json', textPickle],
        ]),
      ),
    ).rejects.toMatchObject({ code: 'pickle_refused' });
    expect(await store.has(v1.sha256 as string)).toBe(true);
  });

  it('keeps a blob that was stored before it, unreferenced (an import about to register it)', async () => {
    const m = await newModel();
    const held = gguf('held-by-an-import');
    await storeElsewhere(held);
    await expect(
      registry.versions.upload(
        ctx,
        m.id,
        parts([
          ['model.gguf', held],
          ['weights.json', textPickle],
        ]),
      ),
    ).rejects.toMatchObject({ code: 'pickle_refused' });
    expect(await store.has(digest(held))).toBe(true);
  });

  it('keeps a blob it created when the same bytes were stored again meanwhile', async () => {
    const m = await newModel();
    const bytes = gguf('stored-twice');
    const failing = registry.versions.upload(
      ctx,
      m.id,
      parts(
        [
          ['model.gguf', bytes],
          ['weights.json', textPickle],
        ],
        async (i) => {
          if (i !== 0) return;
          // Another upload of the same file completes while this one is still running.
          await new Promise((r) => setTimeout(r, 5));
          await storeElsewhere(bytes);
        },
      ),
    );
    await expect(failing).rejects.toMatchObject({ code: 'pickle_refused' });
    expect(await store.has(digest(bytes))).toBe(true);
  });
});
