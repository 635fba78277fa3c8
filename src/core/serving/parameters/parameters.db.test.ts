import { eq } from 'drizzle-orm';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabase } from '../../../../test/helpers/db.js';
import { createAuditRepository } from '../../../hub/audit/repository.js';
import { createAuditService } from '../../../hub/audit/service.js';
import { permissionsOf } from '../../../hub/auth/permissions.js';
import type { RequestContext } from '../../../hub/auth/principal.js';
import { auditLog, users } from '../../../hub/tables.js';
import type { Database } from '../../../platform/db/client.js';
import { createEventBus, type PolarEvent } from '../../../platform/events/bus.js';
import { models } from '../../tables.js';
import { modelParameters } from '../tables.js';
import { createModelParameters } from './index.js';
import { createParametersRepository, type ParametersRepository } from './repository.js';
import type { ParameterService } from './service.js';

let database: Database;
let repo: ParametersRepository;
let service: ParameterService;
const events: PolarEvent[] = [];

const OWNER = 'paramowner01';
const ctx: RequestContext = {
  principal: {
    userId: OWNER,
    username: 'owner',
    role: 'developer',
    permissions: permissionsOf('developer'),
    via: 'session',
  },
  requestId: 'req-1',
  ip: '127.0.0.1',
};

beforeAll(async () => {
  database = await testDatabase();
  const log = pino({ level: 'silent' });
  const bus = createEventBus(database.db);
  bus.subscribe((e) => events.push(e));
  await database.db
    .insert(users)
    .values({ id: OWNER, username: 'owner', passwordHash: 'x', role: 'developer' });
  repo = createParametersRepository(database.db);
  service = createModelParameters({
    db: database.db,
    audit: createAuditService({ repo: createAuditRepository(database.db), bus, log }),
    bus,
  });
});
afterAll(async () => database?.close());

let n = 0;
async function newModel(visibility: 'internal' | 'private' = 'internal') {
  const id = `pm${String(++n).padStart(10, '0')}`;
  await database.db
    .insert(models)
    .values({ id, name: `params-${n}`, ownerId: OWNER, task: 'chat', visibility });
  return id;
}
const at = new Date('2030-01-02T03:04:05Z');

describe('parameters repository', () => {
  it('creates the row at version 1 and counts every change after it', async () => {
    const id = await newModel();
    expect(await repo.get(id)).toBeUndefined();
    const first = await repo.change(id, (c) => ({ ...c, temperature: 0.5 }), { by: OWNER, at });
    expect(first).toMatchObject({
      kind: 'changed',
      before: undefined,
      after: { version: 1, updatedBy: OWNER },
    });
    const second = await repo.change(id, (c) => ({ ...c, top_k: 5 }), { by: null, at });
    expect(second).toMatchObject({
      kind: 'changed',
      before: { version: 1, parameters: { temperature: 0.5 } },
      after: { version: 2, parameters: { temperature: 0.5, top_k: 5 }, updatedBy: null },
    });
    expect((await repo.get(id))?.updatedAt.toISOString()).toBe(at.toISOString());
  });

  it('applies a write with an expected version only at that version (0: nothing stored yet)', async () => {
    const id = await newModel();
    expect(await repo.change(id, () => ({ top_p: 0.5 }), { expectedVersion: 3, by: null, at })).toEqual({
      kind: 'conflict',
      actual: 0,
    });
    expect(await repo.get(id)).toBeUndefined();
    expect(await repo.change(id, () => ({ top_p: 0.5 }), { expectedVersion: 0, by: null, at })).toMatchObject(
      {
        kind: 'changed',
        after: { version: 1 },
      },
    );
    expect(await repo.change(id, () => ({}), { expectedVersion: 0, by: null, at })).toEqual({
      kind: 'conflict',
      actual: 1,
    });
    expect((await repo.get(id))?.parameters).toEqual({ top_p: 0.5 });
  });

  it('answers model_missing for a model that does not exist, and forgets the row with its model', async () => {
    expect(await repo.change('nosuchmodel1', () => ({}), { by: null, at })).toEqual({
      kind: 'model_missing',
    });
    const id = await newModel();
    await repo.change(id, () => ({ top_k: 3 }), { by: OWNER, at });
    await database.db.delete(models).where(eq(models.id, id));
    expect(await repo.get(id)).toBeUndefined();
  });

  it('concurrent updates without If-Match all land, each over the one before', async () => {
    const id = await newModel();
    const values = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6];
    const fields = ['temperature', 'top_p', 'repetition_penalty', 'length_penalty', 'top_k', 'num_beams'];
    await Promise.all(
      fields.map((f, i) =>
        service.update(ctx, id, { parameters: { [f]: f === 'top_k' || f === 'num_beams' ? i : values[i] } }),
      ),
    );
    const row = await repo.get(id);
    expect(row?.version).toBe(6);
    expect(Object.keys(row!.parameters).sort()).toEqual([...fields].sort());
  });

  it('racing conditional writers from one version: exactly one wins', async () => {
    const id = await newModel();
    const raced = await Promise.allSettled(
      [0.1, 0.2, 0.3].map((t) =>
        service.update(ctx, id, { parameters: { temperature: t }, expectedVersion: 0 }),
      ),
    );
    expect(raced.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(raced.filter((r) => r.status === 'rejected')).toHaveLength(2);
    for (const r of raced)
      if (r.status === 'rejected')
        expect(r.reason).toMatchObject({ code: 'parameters_conflict', status: 409 });
  });
});

describe('parameters service', () => {
  it('merges updates over stored values, resets to defaults, and exposes the stored overrides', async () => {
    const id = await newModel();
    expect(await service.effective(id)).toEqual({});
    const got0 = await service.get(ctx, `PARAMS-${id.slice(2).replace(/^0+/, '')}`);
    expect(got0).toMatchObject({ version: 0, body: { model_id: id, last_updated: null } });
    expect(got0.body.parameters.temperature).toBe(1);

    const u = await service.update(ctx, id, { parameters: { temperature: 0.2, eos_token_id: 7 } });
    expect(u.version).toBe(1);
    expect(u.body).toMatchObject({
      status: 'success',
      updated_parameters: { temperature: 0.2, eos_token_id: 7 },
    });
    await service.update(ctx, id, { parameters: { top_k: 7 } });
    expect(await service.effective(id)).toEqual({ temperature: 0.2, eos_token_id: 7, top_k: 7 });
    const got = await service.get(ctx, id);
    expect(got.body.parameters).toMatchObject({ temperature: 0.2, top_k: 7, top_p: 0.9, eos_token_id: 7 });
    expect(got.body.last_updated).not.toBeNull();

    const r = await service.reset(ctx, id);
    expect(r.version).toBe(3);
    expect(await service.effective(id)).toEqual({});
    expect((await service.get(ctx, id)).body.parameters).not.toHaveProperty('eos_token_id');

    const trail = await database.db
      .select()
      .from(auditLog)
      .where(eq(auditLog.targetId, id))
      .orderBy(auditLog.id);
    expect(trail.map((a) => a.action)).toEqual([
      'model.parameters.update',
      'model.parameters.update',
      'model.parameters.reset',
    ]);
    expect(trail[1]?.details).toMatchObject({ changed: ['top_k'], from: { top_k: null }, to: { top_k: 7 } });
    expect(trail[2]?.details).toMatchObject({
      version: 3,
      from: { temperature: 0.2, top_k: 7, eos_token_id: 7 },
    });
    const seen = events.filter((e) => e.topic === 'models' && e.data.model_id === id).map((e) => e.type);
    expect(seen).toEqual(['model.parameters.updated', 'model.parameters.updated', 'model.parameters.reset']);
  });

  it("announces a private model's changes to its owner only", async () => {
    const id = await newModel('private');
    await service.update(ctx, id, { parameters: { do_sample: false } });
    const e = events.find((x) => x.data.model_id === id);
    expect(e?.user_id).toBe(OWNER);
  });

  it('refuses an empty update and a user who is not the owner', async () => {
    const id = await newModel();
    await expect(service.update(ctx, id, { parameters: {} })).rejects.toMatchObject({
      code: 'no_parameters',
    });
    const stranger: RequestContext = {
      ...ctx,
      principal: { ...ctx.principal!, userId: 'someoneelse1', username: 'x' },
    };
    await expect(service.update(stranger, id, { parameters: { top_k: 2 } })).rejects.toMatchObject({
      code: 'not_model_owner',
    });
    await expect(service.reset(stranger, id)).rejects.toMatchObject({ status: 403 });
    expect(await repo.get(id)).toBeUndefined();
  });

  it('keeps the row when its last editor is deleted', async () => {
    await database.db
      .insert(users)
      .values({ id: 'editor000001', username: 'editor', passwordHash: 'x', role: 'admin' });
    const id = await newModel();
    await repo.change(id, () => ({ top_k: 9 }), { by: 'editor000001', at });
    await database.db.delete(users).where(eq(users.id, 'editor000001'));
    expect(await repo.get(id)).toMatchObject({ parameters: { top_k: 9 }, updatedBy: null });
    const [row] = await database.db.select().from(modelParameters).where(eq(modelParameters.modelId, id));
    expect(row?.version).toBe(1);
  });
});
