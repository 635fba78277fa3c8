import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tinyLlamaGguf } from '../fixtures/models/gguf.js';
import { ADMIN_PASSWORD, json, type PolarNode, type Run, type RunOptions, startPolar } from './helpers.js';

/**
 * Serving through the real CLI against a real `polar serve`: a tiny GGUF is loaded into its own host
 * process, listed by `polar ps`, answers `polar chat` over /v1/chat/completions, and is unloaded.
 */
let node: PolarNode | undefined;
const polar = (args: string[], opts?: RunOptions) => node!.polar(args, { timeoutMs: 60_000, ...opts });
const said = (r: Run) => `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}\nserver: ${node?.log()}`;

interface PsView {
  models: { name: string; version: number; runtime: string; status: string; memory_bytes: number }[];
}

beforeAll(async () => {
  node = await startPolar('polar-e2e-serving-');
  const login = await polar(['login', '--username', 'admin', '--password-stdin'], {
    input: `${ADMIN_PASSWORD}\n`,
  });
  if (login.code !== 0) throw new Error(`login failed: ${said(login)}`);
  const created = await polar(['models', 'create', 'tiny-chat', '--task', 'chat']);
  if (created.code !== 0) throw new Error(`create failed: ${said(created)}`);
  const dir = join(node.tmp, 'weights');
  mkdirSync(dir);
  writeFileSync(join(dir, 'tiny.gguf'), tinyLlamaGguf());
  const up = await polar(['models', 'upload', 'tiny-chat', join(dir, 'tiny.gguf')]);
  if (up.code !== 0) throw new Error(`upload failed: ${said(up)}`);
}, 90_000);

afterAll(async () => {
  await node?.stop();
});

describe('polar load, ps, chat and unload against a running node', () => {
  it('loads the GGUF with runtime options and lists it', async () => {
    const load = await polar(['load', 'tiny-chat:1', '--keep-alive', '-1', '--config', 'threads=1']);
    expect(load.code, said(load)).toBe(0);
    expect(load.stdout).toMatch(/^Loaded tiny-chat version 1 \(llama, [\d.]+ [KMG]?B\) in [\d.]+ s\.\n$/);

    const ps = await polar(['ps', '--json']);
    expect(ps.code, said(ps)).toBe(0);
    const view = json(ps) as unknown as PsView;
    expect(view.models).toHaveLength(1);
    expect(view.models[0]).toMatchObject({
      name: 'tiny-chat',
      version: 1,
      runtime: 'llama',
      status: 'loaded',
    });
    expect(view.models[0]!.memory_bytes).toBeGreaterThan(0);

    const table = await polar(['ps']);
    expect(table.code, said(table)).toBe(0);
    expect(table.stdout).toMatch(/tiny-chat\s+v1\s+llama\s+loaded\s+[\d.]+ [KMG]?B\s+0\/0\s+never/);
  });

  it('answers a one-shot chat, streamed as text and whole as --json', async () => {
    const args = ['chat', 'tiny-chat', 'Say something', '--set', 'temperature=0', '--set', 'max_tokens=12'];
    const text = await polar([...args, '--stats']);
    expect(text.code, said(text)).toBe(0);
    expect(text.stdout.length).toBeGreaterThan(1);
    expect(text.stdout.endsWith('\n')).toBe(true);
    expect(text.stderr).toMatch(/^12 tokens · [\d.]+ tokens\/s · first token \d+ ms · total [\d.]+ s\n$/);

    const whole = await polar([...args, '--json']);
    expect(whole.code, said(whole)).toBe(0);
    const answer = json(whole) as {
      object: string;
      choices: { message: { content: string }; finish_reason: string }[];
      usage: { completion_tokens: number };
    };
    expect(answer.object).toBe('chat.completion');
    expect(answer.usage.completion_tokens).toBe(12);
    expect(answer.choices[0]!.finish_reason).toBe('length');
    // Greedy decoding: the same reply both times.
    expect(`${answer.choices[0]!.message.content}\n`).toBe(text.stdout);

    const piped = await polar(['chat', 'tiny-chat', '--set', 'max_tokens=3'], { input: 'From\nstdin\n' });
    expect(piped.code, said(piped)).toBe(0);
    expect(piped.stdout.length).toBeGreaterThan(1);
  });

  it('fails with the node’s message and exit code for an unknown model', async () => {
    const r = await polar(['chat', 'no-such-model', 'hi']);
    expect(r.code, said(r)).toBe(5);
    expect(r.stderr).toMatch(/^Error: .+ \(model_not_found, HTTP 404\)\n$/);
    expect(r.stdout).toBe('');
  });

  it('unloads the model', async () => {
    const r = await polar(['unload', 'tiny-chat']);
    expect(r.code, said(r)).toBe(0);
    expect(r.stdout).toBe('Unloaded tiny-chat (1 version).\n');
    const ps = await polar(['ps']);
    expect(ps.stdout).toBe('(none)\n');
  });
});
