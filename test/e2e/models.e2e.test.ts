import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeHub, startFakeHub } from '../fixtures/fake-hub/index.js';
import { tinyLlamaGguf } from '../fixtures/models/gguf.js';
import { tinySafetensors } from '../fixtures/models/safetensors.js';
import { ADMIN_PASSWORD, json, type PolarNode, type RunOptions, startPolar } from './helpers.js';

/**
 * The model registry and Hugging Face import through the real CLI against a real `polar serve`,
 * which imports from a fake hub running in this process.
 */
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const GGUF = tinyLlamaGguf();
const ST = tinySafetensors();
const CONFIG = Buffer.from('{"architectures":["TinyMlp"],"hidden_size":8}\n');

let hub: FakeHub | undefined;
let node: PolarNode | undefined;

const polar = (args: string[], opts?: RunOptions) => node!.polar(args, opts);
/** A failed assertion shows what the CLI printed. */
const said = (r: { code: number | null; stdout: string; stderr: string }) =>
  `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;

interface FileView {
  path: string;
  size: number;
  sha256: string;
}
interface VersionView {
  version: number;
  format: string;
  status: string;
  files: FileView[];
}

beforeAll(async () => {
  hub = await startFakeHub([{ id: 'org/repo', files: { 'tiny-Q4_K_M.gguf': GGUF, 'tiny-Q8_0.gguf': GGUF } }]);
  node = await startPolar('polar-e2e-models-', { POLAR_HF_ENDPOINT: hub.url });
  const login = await polar(['login', '--username', 'admin', '--password-stdin'], {
    input: `${ADMIN_PASSWORD}\n`,
  });
  if (login.code !== 0) throw new Error(`login failed: ${said(login)}`);
}, 60_000);

afterAll(async () => {
  await node?.stop();
  await hub?.close();
});

describe('polar models against a running node', () => {
  it('creates a model, uploads a version and reads it back', async () => {
    const created = await polar(['models', 'create', 'e2e-mlp', '--task', 'other', '--json']);
    expect(created.code, said(created)).toBe(0);
    expect(json(created)).toMatchObject({ name: 'e2e-mlp', task: 'other' });

    const dir = join(node!.tmp, 'weights');
    mkdirSync(dir);
    writeFileSync(join(dir, 'model.safetensors'), ST);
    writeFileSync(join(dir, 'config.json'), CONFIG);
    const up = await polar(['models', 'upload', 'e2e-mlp', dir, '--json']);
    expect(up.code, said(up)).toBe(0);
    const v = json(up) as unknown as VersionView;
    expect(v.version).toBe(1);
    const byPath = Object.fromEntries(v.files.map((f) => [f.path, f.sha256]));
    expect(byPath).toEqual({ 'model.safetensors': sha(ST), 'config.json': sha(CONFIG) });

    const shown = await polar(['models', 'show', 'e2e-mlp', '--json']);
    expect(shown.code, said(shown)).toBe(0);
    const m = json(shown) as { name: string; versions: VersionView[] };
    expect(m.name).toBe('e2e-mlp');
    expect(m.versions.map((x) => x.version)).toEqual([1]);
    expect(m.versions[0]!.format).toBe('safetensors');

    const out = join(node!.tmp, 'out.safetensors');
    const down = await polar(['models', 'download', 'e2e-mlp', '1', 'model.safetensors', '-o', out]);
    expect(down.code, said(down)).toBe(0);
    expect(readFileSync(out).equals(ST)).toBe(true);
  });

  it('sets an alias with a reason, lists its history and retires the version', async () => {
    const set = await polar(['models', 'alias', 'set', 'e2e-mlp', 'production', '1', '--reason', 'r']);
    expect(set.code, said(set)).toBe(0);
    expect(set.stdout).toContain('production → v1');

    const history = await polar(['models', 'alias', 'history', 'e2e-mlp', 'production', '--json']);
    expect(history.code, said(history)).toBe(0);
    const items = json(history).items as { to_version: number | null; reason: string }[];
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ to_version: 1, reason: 'r' });

    const retired = await polar(['models', 'retire', 'e2e-mlp', '1', '--json']);
    expect(retired.code, said(retired)).toBe(0);
    expect(json(retired)).toMatchObject({ version: 1, status: 'retired' });
  });
});

describe('polar pull against a running node and a fake hub', () => {
  it('imports one GGUF quantisation selected by glob', async () => {
    const r = await polar(['pull', 'org/repo', '--format', 'gguf', '--files', '*Q4_K_M.gguf', '--json'], {
      timeoutMs: 30_000,
    });
    expect(r.code, `${said(r)}\nserver: ${node!.log()}`).toBe(0);
    const job = json(r) as {
      status: string;
      files: { path: string }[];
      model_id: string;
      version: number;
    };
    expect(job.status).toBe('succeeded');
    expect(job.files.map((f) => f.path)).toEqual(['tiny-Q4_K_M.gguf']);

    const shown = await polar(['models', 'show', job.model_id, '--json']);
    expect(shown.code, said(shown)).toBe(0);
    const m = json(shown) as { versions: VersionView[] };
    const v = m.versions.find((x) => x.version === job.version);
    expect(v?.format).toBe('gguf');
    expect(v?.files.map((f) => [f.path, f.sha256])).toEqual([['tiny-Q4_K_M.gguf', sha(GGUF)]]);
  });

  it('fails with the reason when the repo does not exist', async () => {
    const r = await polar(['pull', 'org/missing'], { timeoutMs: 30_000 });
    expect(r.code, said(r)).not.toBe(0);
    expect(r.code, 'killed by the time limit').not.toBeNull();
    // Anonymous, the hub cannot tell a missing repo from a private one: the node refuses the request.
    expect(r.stderr).toMatch(/^Error: .*org\/missing.*\(\w+, HTTP 4\d\d\)/);
    expect(r.stdout).toBe('');
  });
});
