import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeHub, startFakeHub } from '../../../test/fixtures/fake-hub/index.js';
import { tinyLlamaGguf } from '../../../test/fixtures/models/gguf.js';
import { createTestApp, type TestApp, type TestUser } from '../../../test/helpers/app.js';
import { LocalArtifactStore } from '../artifacts/local.js';
import type { ArtifactInfo } from '../artifacts/store.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const HELD = tinyLlamaGguf({ seed: 21 });

/**
 * A real local store in which the garbage collector strikes at the worst moment: right after the
 * import looked up a blob it means to reuse, that blob (unreferenced, as it is until the version
 * exists) is deleted.
 */
class CollectedAfterLookup extends LocalArtifactStore {
  collect = new Set<string>();

  override async stat(sha256: string): Promise<ArtifactInfo | null> {
    const info = await super.stat(sha256);
    if (info && this.collect.delete(sha256)) await this.delete(sha256);
    return info;
  }
}

let hub: FakeHub;
let t: TestApp;
let dev: TestUser;
const store = new CollectedAfterLookup(join(mkdtempSync(join(tmpdir(), 'polar-store-')), 'artifacts'));

async function settle(id: string) {
  for (let i = 0; i < 400; i++) {
    const j = (await t.as(dev.token, { method: 'GET', url: `/api/v1/models/download/${id}` })).json();
    if (['succeeded', 'failed', 'cancelled'].includes(j.status)) return j;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`job ${id} did not settle`);
}

beforeAll(async () => {
  hub = await startFakeHub([
    { id: 'polar/held', files: { 'config.json': Buffer.from('{"c":3}'), 'held.gguf': HELD } },
  ]);
  t = await createTestApp({
    env: { POLAR_HF_ENDPOINT: hub.url },
    deps: {
      hubClient: {
        retry: { retries: 3, baseDelayMs: 1, maxDelayMs: 5 },
        idleTimeoutMs: 5_000,
        diskReserveBytes: 0,
      },
      artifactStore: store,
    },
  });
  dev = await t.user('developer');
});
afterAll(async () => {
  await t?.close();
  await hub?.close();
});

describe('download job and the garbage collector', () => {
  it('downloads a file again when the stored blob it relied on was collected before registration', async () => {
    await store.put(Readable.from([HELD]));
    store.collect.add(sha(HELD));
    const mark = hub.requests.length;
    const res = await t.as(dev.token, {
      method: 'POST',
      url: '/api/v1/models/download',
      payload: { model_name: 'polar/held', model_format: 'gguf', name: 'held-collected' },
    });
    expect(res.statusCode, res.body).toBe(202);
    const j = await settle(res.json().job_id);
    expect(j.status, JSON.stringify(j.error)).toBe('succeeded');
    // The collector did strike, and the job fetched the file's bytes from the hub again.
    expect(store.collect.size).toBe(0);
    expect(
      hub.requests.slice(mark).some((r) => r.url.includes('/resolve/') && r.url.includes('held.gguf')),
    ).toBe(true);
    expect(await store.has(sha(HELD))).toBe(true);
    const body = await t.as(dev.token, {
      method: 'GET',
      url: `/api/v1/models/${j.model_id}/versions/${j.version}/files/held.gguf`,
    });
    expect(body.statusCode).toBe(200);
    expect(sha(body.rawPayload)).toBe(sha(HELD));
  });
});
