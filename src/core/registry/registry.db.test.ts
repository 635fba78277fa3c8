import { randomBytes } from 'node:crypto';
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
  dir = mkdtempSync(join(tmpdir(), 'polar-registry-'));
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

async function* parts(files: Record<string, Buffer>): AsyncGenerator<UploadPart> {
  for (const [filename, data] of Object.entries(files))
    yield { kind: 'file', filename, stream: Readable.from([data]) };
}
const gguf = (tag: string) => writeGguf([['general.name', { t: 'string', v: tag }]], []);
let n = 0;
const newModel = () =>
  registry.models.create(ctx, {
    name: `db-${++n}`,
    task: 'chat',
    description: '',
    tags: [],
    visibility: 'internal',
  });

describe('registry service', () => {
  it('numbers 50 parallel versions 1..50 without gap or duplicate', async () => {
    const m = await newModel();
    const created = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        registry.versions.upload(ctx, m.id, parts({ 'm.gguf': gguf(`v${i}`) })),
      ),
    );
    expect(created.map((v) => v.version).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
    const detail = await registry.models.get(ctx, m.id);
    expect(detail.versions).toHaveLength(50);
  });

  it('a failed upload gives its number back', async () => {
    const m = await newModel();
    await expect(registry.versions.upload(ctx, m.id, parts({ '../x': gguf('a') }))).rejects.toMatchObject({
      code: 'unsafe_path',
    });
    await expect(
      registry.versions.upload(ctx, m.id, parts({ 'big.gguf': Buffer.alloc(2 * 1024 * 1024) })),
    ).rejects.toMatchObject({ status: 413 });
    expect((await registry.versions.upload(ctx, m.id, parts({ 'a.gguf': gguf('a') }))).version).toBe(1);
  });

  it('concurrent alias moves: every move is in the history, none lost; a stale expectation gets 409', async () => {
    const m = await newModel();
    for (let i = 0; i < 4; i++) await registry.versions.upload(ctx, m.id, parts({ 'm.gguf': gguf(`a${i}`) }));
    const moves = await Promise.allSettled(
      [1, 2, 3, 4, 1, 2, 3, 4].map((version) =>
        registry.aliases.set(ctx, m.id, 'production', { version, reason: `to ${version}` }),
      ),
    );
    expect(moves.every((r) => r.status === 'fulfilled')).toBe(true);
    const history = await registry.aliases.history(ctx, m.id, 'production', { limit: 50 });
    expect(history.items).toHaveLength(8);
    // Each entry starts where the previous one ended: no move was applied over a stale read.
    const chain = [...history.items].reverse();
    for (let i = 1; i < chain.length; i++) expect(chain[i]!.from_version).toBe(chain[i - 1]!.to_version);
    const final = (await registry.models.get(ctx, m.id)).aliases.production;
    expect(final).toBe(chain.at(-1)!.to_version);

    // Two clients that both read the same target: one wins, the other is told.
    const raced = await Promise.allSettled(
      [1, 2].map((version) =>
        registry.aliases.set(ctx, m.id, 'staging-x', { version, reason: '', expected_version: null }),
      ),
    );
    expect(raced.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(raced.find((r) => r.status === 'rejected')).toMatchObject({ reason: { code: 'alias_conflict' } });
  });

  it('deleting a model frees only blobs no other version references', async () => {
    const a = await newModel();
    const b = await newModel();
    const shared = gguf(randomBytes(8).toString('hex'));
    const own = gguf(randomBytes(8).toString('hex'));
    await registry.versions.upload(
      ctx,
      a.id,
      parts({
        's.bin.gguf': shared,
        'o.gguf': own,
      }),
    );
    const vb = await registry.versions.upload(ctx, b.id, parts({ 's.gguf': shared }));
    const va = (await registry.models.get(ctx, a.id)).versions[0]!;
    const ownSha = va.files.find((f) => f.path === 'o.gguf')!.sha256;
    const sharedSha = vb.files[0]!.sha256;
    const res = await registry.models.remove(ctx, a.id);
    expect(res.blobs_freed).toBe(1);
    expect(await store.has(ownSha)).toBe(false);
    expect(await store.has(sharedSha)).toBe(true);
    const gc = await registry.collectGarbage({ graceMs: 0 });
    expect(gc.deleted).not.toContain(sharedSha);
  });
});
