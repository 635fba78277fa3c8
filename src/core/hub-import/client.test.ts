import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  bytes,
  type Harness,
  harness,
  modelRepo,
  OTHER_TOKEN,
  TOKEN,
} from '../../../test/fixtures/fake-hub/harness.js';
import { gitBlobSha1, sha256 } from '../../../test/fixtures/fake-hub/index.js';
import type { RepoFile } from './client.js';
import { PARTIAL_SUFFIX } from './download.js';
import {
  DownloadCancelledError,
  DownloadVerificationError,
  HubAccessDeniedError,
  HubAuthError,
  HubNotFoundError,
  HubUnavailableError,
  InsufficientDiskSpaceError,
} from './errors.js';
import { selectFiles } from './file-filter.js';
import type { DownloadProgress } from './progress.js';
import { measureThroughput } from './progress.js';

const WEIGHTS = bytes(300_000, 7);

let h: Harness;
beforeEach(async () => {
  h = await harness([
    modelRepo(),
    modelRepo({ id: 'polar/secret', private: true, tokens: [TOKEN] }),
    modelRepo({ id: 'polar/gated', gated: true, tokens: [TOKEN] }),
    modelRepo({ id: 'other/owned', private: true, tokens: [OTHER_TOKEN] }),
  ]);
});
afterEach(() => h.cleanup());

async function fileOf(
  repo: string,
  path: string,
  token?: string,
): Promise<{ commit: string; file: RepoFile }> {
  const client = h.client({ accessToken: token });
  const commit = await client.resolveRevision(repo);
  const file = (await client.listFiles(repo, commit)).find((f) => f.path === path);
  if (!file) throw new Error(`no ${path}`);
  return { commit, file };
}

const dataRequests = () => h.hub.requests.filter((r) => r.method === 'GET' && r.range !== 'bytes=0-0');
const resolveOrCdn = (r: { url: string }) => r.url.includes('/resolve/') || r.url.startsWith('/cdn-lfs/');

describe('HubClient metadata', () => {
  it('resolves a branch to its commit and lists files with sizes and hashes across pages', async () => {
    await h.cleanup();
    h = await harness([
      modelRepo({
        files: {
          'a.json': Buffer.from('{}'),
          'b/c.gguf': bytes(10),
          'b/d.txt': Buffer.from('x'),
          'e.onnx': bytes(5),
        },
      }),
    ]);
    const client = h.client();
    const commit = await client.resolveRevision('polar/tiny', 'main');
    expect(commit).toBe(h.hub.repo('polar/tiny').sha);
    const files = await client.listFiles('polar/tiny', commit);
    expect(files.map((f) => f.path)).toEqual(['a.json', 'b/c.gguf', 'b/d.txt', 'e.onnx']);
    expect(files[0]).toEqual({
      path: 'a.json',
      size: 2,
      gitOid: gitBlobSha1(Buffer.from('{}')),
      sha256: undefined,
    });
    expect(files[1]).toMatchObject({ size: 10, sha256: sha256(bytes(10)) });
  });

  it('follows Link pagination of the tree', async () => {
    await h.cleanup();
    const files = Object.fromEntries(
      Array.from({ length: 25 }, (_, i) => [`f${String(i).padStart(2, '0')}.txt`, bytes(3, i + 1)]),
    );
    h = await harness([modelRepo({ files })], { treePageSize: 10 });
    const client = h.client();
    const listed = await client.listFiles('polar/tiny', await client.resolveRevision('polar/tiny'));
    expect(listed.map((f) => f.path)).toEqual(Object.keys(files));
    expect(h.hub.requests.filter((r) => r.url.includes('/tree/'))).toHaveLength(3);
  });

  it('reports a missing repo and a missing revision as typed errors', async () => {
    const client = h.client({ accessToken: TOKEN });
    await expect(client.resolveRevision('polar/none')).rejects.toBeInstanceOf(HubNotFoundError);
    await expect(client.resolveRevision('polar/tiny', 'v9')).rejects.toMatchObject({
      code: 'hub_revision_not_found',
    });
  });

  it('filters a listing down to one GGUF quantisation', async () => {
    await h.cleanup();
    h = await harness([
      modelRepo({
        files: {
          'tiny-Q4_K_M.gguf': bytes(20, 1),
          'tiny-Q8_0.gguf': bytes(20, 2),
          'README.md': Buffer.from('#'),
        },
      }),
    ]);
    const client = h.client();
    const files = await client.listFiles('polar/tiny', await client.resolveRevision('polar/tiny'));
    const picked = selectFiles(files, { format: 'gguf', include: ['*Q4_K_M.gguf'] });
    expect(picked.map((f) => f.path)).toEqual(['tiny-Q4_K_M.gguf']);
  });
});

describe('HubClient downloads', () => {
  it('downloads an LFS file through the CDN redirect and a small file, both verified', async () => {
    const { commit, file } = await fileOf('polar/tiny', 'model.safetensors');
    const reports: DownloadProgress[] = [];
    const result = await h.client().downloadFile({
      repo: 'polar/tiny',
      commit,
      file,
      dir: h.dir,
      onProgress: (p) => reports.push(p),
    });
    expect(await readFile(result.path)).toEqual(WEIGHTS);
    expect(result).toMatchObject({ bytes: WEIGHTS.length, resumedFrom: 0 });
    expect(result.sha256).toBe(createHash('sha256').update(WEIGHTS).digest('hex'));
    expect(h.hub.requests.some((r) => r.url.startsWith('/cdn-lfs/') && r.status === 200)).toBe(true);
    expect(reports.at(-1)).toMatchObject({
      bytesDone: WEIGHTS.length,
      bytesTotal: WEIGHTS.length,
      etaSeconds: 0,
    });

    const small = await fileOf('polar/tiny', 'config.json');
    const cfg = await h.client().downloadFile({ repo: 'polar/tiny', commit, file: small.file, dir: h.dir });
    expect(await readFile(cfg.path, 'utf8')).toBe('{"model_type":"llama"}');
    // Checked by git sha1, yet its sha256 comes along from the same pass.
    expect(cfg.sha256).toBe(createHash('sha256').update('{"model_type":"llama"}').digest('hex'));
    expect((await readdir(h.dir)).sort()).toEqual(['config.json', 'model.safetensors']);
  });

  it('keeps an already verified file instead of downloading it again', async () => {
    const { commit, file } = await fileOf('polar/tiny', 'model.safetensors');
    await h.client().downloadFile({ repo: 'polar/tiny', commit, file, dir: h.dir });
    h.hub.requests.length = 0;
    const again = await h.client().downloadFile({ repo: 'polar/tiny', commit, file, dir: h.dir });
    expect(again.resumedFrom).toBe(WEIGHTS.length);
    expect(h.hub.requests).toEqual([]);
  });

  it('resumes after the connection dies mid-file, asking only for the missing bytes', async () => {
    const { commit, file } = await fileOf('polar/tiny', 'model.safetensors');
    h.hub.faults.dieAfter = { bytes: 100_000, times: 1 };
    const result = await h.client().downloadFile({ repo: 'polar/tiny', commit, file, dir: h.dir });
    expect(await readFile(result.path)).toEqual(WEIGHTS);
    const data = dataRequests().filter(resolveOrCdn);
    expect(data).toHaveLength(2);
    expect(data[0]?.range).toBeUndefined();
    const resumedAt = Number(/^bytes=(\d+)-$/.exec(data[1]?.range ?? '')?.[1]);
    expect(resumedAt).toBeGreaterThan(0);
    expect(resumedAt).toBeLessThanOrEqual(100_000);
  });

  it('resumes from the partial file a previous process left behind', async () => {
    const { commit, file } = await fileOf('polar/tiny', 'model.safetensors');
    h.hub.faults.dieAfter = { bytes: 120_000, times: 1 };
    const first = h.client({ retry: { retries: 0, baseDelayMs: 1, maxDelayMs: 1 } });
    await expect(first.downloadFile({ repo: 'polar/tiny', commit, file, dir: h.dir })).rejects.toBeInstanceOf(
      HubUnavailableError,
    );
    const partial = join(h.dir, `model.safetensors${PARTIAL_SUFFIX}`);
    const kept = (await stat(partial)).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(WEIGHTS.length);

    h.hub.requests.length = 0;
    const result = await h.client().downloadFile({ repo: 'polar/tiny', commit, file, dir: h.dir });
    expect(result.resumedFrom).toBe(kept);
    expect(await readFile(result.path)).toEqual(WEIGHTS);
    expect(
      dataRequests()
        .filter(resolveOrCdn)
        .map((r) => r.range),
    ).toEqual([`bytes=${kept}-`]);
    await expect(stat(partial)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('stops on cancel and leaves no file under the real name', async () => {
    const { commit, file } = await fileOf('polar/tiny', 'model.safetensors');
    h.hub.faults.chunkDelayMs = 20;
    const controller = new AbortController();
    const download = h.client().downloadFile({
      repo: 'polar/tiny',
      commit,
      file,
      dir: h.dir,
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(), 50);
    await expect(download).rejects.toBeInstanceOf(DownloadCancelledError);
    await expect(stat(join(h.dir, 'model.safetensors'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('deletes a corrupted download and says which check failed', async () => {
    const { commit, file } = await fileOf('polar/tiny', 'model.safetensors');
    h.hub.faults.corrupt = true;
    const err = await h
      .client()
      .downloadFile({ repo: 'polar/tiny', commit, file, dir: h.dir })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DownloadVerificationError);
    expect(err).toMatchObject({ check: 'sha256', expected: sha256(WEIGHTS) });

    const small = await fileOf('polar/tiny', 'config.json');
    await expect(
      h.client().downloadFile({ repo: 'polar/tiny', commit, file: small.file, dir: h.dir }),
    ).rejects.toMatchObject({ check: 'git_sha1' });
    expect(await readdir(h.dir)).toEqual([]);
  });

  it('refuses a file whose served size differs from the listing', async () => {
    const { commit, file } = await fileOf('polar/tiny', 'model.safetensors');
    h.hub.faults.extraBytes = 10;
    await expect(
      h.client().downloadFile({ repo: 'polar/tiny', commit, file, dir: h.dir }),
    ).rejects.toMatchObject({ check: 'size', expected: String(WEIGHTS.length) });
    expect(await readdir(h.dir)).toEqual([]);
  });

  it('retries 5xx answers and then succeeds; gives up after its retries', async () => {
    const { commit, file } = await fileOf('polar/tiny', 'model.safetensors');
    h.hub.faults.errors = { status: 503, times: 2, on: 'file' };
    const result = await h.client().downloadFile({ repo: 'polar/tiny', commit, file, dir: h.dir });
    expect(await readFile(result.path)).toEqual(WEIGHTS);
    expect(h.hub.requests.filter((r) => r.status === 503)).toHaveLength(2);

    h.hub.faults.errors = { status: 500, times: 10, on: 'any' };
    const client = h.client({ retry: { retries: 2, baseDelayMs: 1, maxDelayMs: 1 } });
    await expect(client.resolveRevision('polar/tiny')).rejects.toBeInstanceOf(HubUnavailableError);
    expect(h.hub.faults.errors?.times).toBe(7);
  });

  it('abandons a stalled attempt after the idle timeout', async () => {
    const { commit, file } = await fileOf('polar/tiny', 'model.safetensors');
    h.hub.faults.latencyMs = 300;
    const client = h.client({ idleTimeoutMs: 50, retry: { retries: 1, baseDelayMs: 1, maxDelayMs: 1 } });
    await expect(client.downloadFile({ repo: 'polar/tiny', commit, file, dir: h.dir })).rejects.toThrow(
      /no data/,
    );
  });

  it('checks free disk space before requesting anything', async () => {
    const { commit, file } = await fileOf('polar/tiny', 'model.safetensors');
    h.hub.requests.length = 0;
    const client = h.client({ statfs: async () => ({ bavail: 10, bsize: 4096 }) });
    await expect(
      client.downloadFile({ repo: 'polar/tiny', commit, file, dir: h.dir }),
    ).rejects.toBeInstanceOf(InsufficientDiskSpaceError);
    expect(h.hub.requests).toEqual([]);
  });

  it('measures throughput of a download in bytes per second', async () => {
    const { commit, file } = await fileOf('polar/tiny', 'model.safetensors');
    const t = await measureThroughput(
      async () => (await h.client().downloadFile({ repo: 'polar/tiny', commit, file, dir: h.dir })).bytes,
    );
    expect(t.bytes).toBe(WEIGHTS.length);
    expect(t.seconds).toBeGreaterThan(0);
    expect(t.bytesPerSecond).toBeCloseTo(t.bytes / t.seconds);
  });
});

describe('HubClient credentials', () => {
  it('needs a token with access for private and gated repos', async () => {
    await expect(h.client().resolveRevision('polar/secret')).rejects.toBeInstanceOf(HubAuthError);
    await expect(
      h.client({ accessToken: OTHER_TOKEN }).resolveRevision('polar/secret'),
    ).rejects.toMatchObject({
      code: 'hub_repo_not_found',
    });
    await expect(
      h.client({ accessToken: OTHER_TOKEN }).resolveRevision('polar/gated'),
    ).rejects.toBeInstanceOf(HubAccessDeniedError);
    const { commit, file } = await fileOf('polar/secret', 'model.safetensors', TOKEN);
    const result = await h
      .client({ accessToken: TOKEN })
      .downloadFile({ repo: 'polar/secret', commit, file, dir: h.dir });
    expect(await readFile(result.path)).toEqual(WEIGHTS);
    await expect(
      h.client().downloadFile({ repo: 'polar/secret', commit, file, dir: join(h.dir, 'anon') }),
    ).rejects.toBeInstanceOf(HubAuthError);
  });

  it('never repeats the token, even when the hub echoes it back', async () => {
    h.hub.faults.echoAuth = true;
    const errors: unknown[] = [];
    const attempts: Array<[string, string]> = [
      [TOKEN, 'other/owned'],
      [OTHER_TOKEN, 'polar/gated'],
      ['hf_not_known_to_the_hub_at_all', 'polar/tiny'],
    ];
    for (const [token, repo] of attempts) {
      errors.push(
        await h
          .client({ accessToken: token })
          .resolveRevision(repo)
          .catch((e: unknown) => e),
      );
    }
    h.hub.faults.errors = { status: 500, times: 10, on: 'any' };
    errors.push(
      await h
        .client({ accessToken: TOKEN })
        .listFiles('polar/secret', 'main')
        .catch((e: unknown) => e),
    );
    expect(errors.map((e) => (e as { code?: string }).code)).toEqual([
      'hub_repo_not_found',
      'hub_access_denied',
      'hub_auth_required',
      'hub_unavailable',
    ]);
    for (const err of errors) {
      expect(err).toBeInstanceOf(Error);
      const e = err as Error;
      const text = [e.message, e.stack, JSON.stringify(e), String(e.cause ?? '')].join('\n');
      for (const [token] of attempts) expect(text).not.toContain(token);
    }
  });
});

describe('hostile repo listings', () => {
  const hostile = ['../x', '/abs', 'a\\b', '%2e%2e/x', 'ok/../../x'];

  it('refuses hostile names before any request or write', async () => {
    await h.cleanup();
    h = await harness([
      modelRepo({
        files: Object.fromEntries([...hostile.map((p) => [p, bytes(8)]), ['fine.json', Buffer.from('{}')]]),
      }),
    ]);
    const client = h.client();
    const commit = await client.resolveRevision('polar/tiny');
    const files = await client.listFiles('polar/tiny', commit);
    expect(files.map((f) => f.path).sort()).toEqual([...hostile, 'fine.json'].sort());
    const dir = join(h.dir, 'store');
    for (const file of files.filter((f) => f.path !== 'fine.json')) {
      h.hub.requests.length = 0;
      await expect(client.downloadFile({ repo: 'polar/tiny', commit, file, dir })).rejects.toMatchObject({
        code: 'unsafe_repo_path',
      });
      expect(h.hub.requests).toEqual([]);
    }
    expect(await readdir(h.dir)).toEqual([]);
  });
});
