import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger as DrizzleLogger } from 'drizzle-orm';
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { testDatabase } from '../../../test/helpers/db.js';
import { createMaintenanceHooks } from '../../hub/admin/maintenance.js';
import { createAuditRepository } from '../../hub/audit/repository.js';
import { createAuditService } from '../../hub/audit/service.js';
import { permissionsOf } from '../../hub/auth/permissions.js';
import type { RequestContext } from '../../hub/auth/principal.js';
import { users } from '../../hub/tables.js';
import type { Database, Db } from '../../platform/db/client.js';
import { createEventBus } from '../../platform/events/bus.js';
import { LocalArtifactStore } from '../artifacts/local.js';
import { modelAliases, modelFiles, models, modelVersions } from '../tables.js';
import { createRegistry, type Registry } from './index.js';

/*
 * The embedded database runs one query at a time, so a list or get that queries per model is what
 * makes the registry slow under load. These tests count the statements each call sends and pin them
 * to a constant, whatever the page size.
 */

const MODELS = 60;
const ctx: RequestContext = {
  principal: {
    userId: 'qcount000001',
    username: 'qcount',
    role: 'developer',
    permissions: permissionsOf('developer'),
    via: 'session',
  },
  requestId: 'test',
  ip: '127.0.0.1',
};

let database: Database;
let dir: string;
let registry: Registry;
const queries: string[] = [];

/** The same connection as `database.db`, with a Drizzle logger that records each statement. */
async function countingDb(d: Database): Promise<Db> {
  const logger: DrizzleLogger = { logQuery: (q) => void queries.push(q) };
  const client = (d.db as unknown as { $client: never }).$client;
  if (d.kind === 'pglite') return (await import('drizzle-orm/pglite')).drizzle({ client, logger }) as never;
  return (await import('drizzle-orm/node-postgres')).drizzle({ client, logger }) as never;
}

beforeAll(async () => {
  database = await testDatabase();
  dir = mkdtempSync(join(tmpdir(), 'polar-qcount-'));
  const log = pino({ level: 'silent' });
  const bus = createEventBus(database.db);
  const db = database.db;
  await db
    .insert(users)
    .values({ id: 'qcount000001', username: 'qcount', passwordHash: 'x', role: 'developer' });
  // Model i has (i % 3) versions of two files each, and an alias on its last version when it has one.
  const t = new Date('2026-01-01T00:00:00Z');
  for (let i = 0; i < MODELS; i++) {
    const id = `qcm${String(i).padStart(9, '0')}`;
    const n = i % 3;
    await db.insert(models).values({
      id,
      name: `qc-${String(i).padStart(3, '0')}`,
      ownerId: ctx.principal!.userId,
      task: 'chat',
      createdAt: t,
      updatedAt: t,
      nextVersion: n + 1,
    });
    for (let v = 1; v <= n; v++) {
      const versionId = `${id}v${v}`;
      await db
        .insert(modelVersions)
        .values({ id: versionId, modelId: id, version: v, format: `f${v}`, size: 10 * v, source: `s${v}` });
      await db
        .insert(modelFiles)
        .values(
          ['b.gguf', 'a.json'].map((path) => ({ versionId, path, size: v, sha256: `${path}${versionId}` })),
        );
    }
    if (n > 0) await db.insert(modelAliases).values({ modelId: id, alias: 'production', version: n });
  }
  registry = createRegistry({
    db: await countingDb(database),
    store: new LocalArtifactStore(dir),
    audit: createAuditService({ repo: createAuditRepository(db), bus, log }),
    bus,
    settings: { get: (def) => def.schema.parse({}) as never },
    maintenance: createMaintenanceHooks(),
    log,
    maxUploadBytes: 1024,
  });
});
afterAll(async () => {
  await database?.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  queries.length = 0;
});

describe('registry query counts', () => {
  it('a page of 50 models costs the same 3 queries as a page of 5', async () => {
    const small = await registry.models.list(ctx, { limit: 5 });
    expect(small.items).toHaveLength(5);
    expect(queries).toHaveLength(3);

    queries.length = 0;
    const page = await registry.models.list(ctx, { limit: 50, search: 'qc-' });
    expect(page.items).toHaveLength(50);
    expect(queries).toHaveLength(3);

    // The batched summaries still describe each model, not its neighbours.
    const two = page.items.find((m) => m.name === 'qc-002')!;
    expect(two).toMatchObject({
      versions_count: 2,
      latest_version: 2,
      format: 'f2',
      size: 20,
      source: 's2',
      aliases: { production: 2 },
    });
    expect(page.items.find((m) => m.name === 'qc-000')).toMatchObject({
      versions_count: 0,
      latest_version: null,
      format: null,
      aliases: {},
    });
  });

  it('get costs at most 3 queries by id or by name, and keeps versions and files in order', async () => {
    const byId = await registry.models.get(ctx, 'qcm000000005');
    expect(queries.length).toBeLessThanOrEqual(3);
    expect(byId.versions.map((v) => [v.version, v.files.map((f) => f.path)])).toEqual([
      [1, ['a.json', 'b.gguf']],
      [2, ['a.json', 'b.gguf']],
    ]);
    expect(byId).toMatchObject({ versions_count: 2, latest_version: 2, aliases: { production: 2 } });

    queries.length = 0;
    const byName = await registry.models.get(ctx, 'QC-003');
    expect(queries.length).toBeLessThanOrEqual(3);
    expect(byName).toMatchObject({ id: 'qcm000000003', versions: [], versions_count: 0 });
  });
});
