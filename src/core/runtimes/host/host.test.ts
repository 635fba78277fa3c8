import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { GenerateEvent, GenerateRequest } from '../types.js';
import { type HostedModel, startHost } from './client.js';

const SCRIPTED = new URL('../../../../test/fixtures/runtimes/scripted.ts', import.meta.url).href;
const log = pino({ level: 'silent' });
const dir = mkdtempSync(join(tmpdir(), 'polar-host-'));
const spec = (config: Record<string, unknown> = {}) => ({
  dir,
  files: [],
  format: 'other',
  task: 'chat',
  config,
});
const params = { temperature: 1, top_k: 50, top_p: 0.9, max_length: 100, repetition_penalty: 1 } as const;
const request = (text: string, max_length = 100): GenerateRequest => ({
  input: { kind: 'chat', messages: [{ role: 'user', content: text }] },
  parameters: {
    ...params,
    max_length,
    do_sample: true,
    num_beams: 1,
    length_penalty: 1,
    early_stopping: false,
  },
});

async function collect(it: AsyncIterable<GenerateEvent>) {
  const events: GenerateEvent[] = [];
  for await (const e of it) events.push(e);
  return events;
}

const hosts: HostedModel[] = [];
const start = async (config?: Record<string, unknown>) => {
  const h = await startHost({ module: SCRIPTED, spec: spec(config), log });
  hosts.push(h);
  return h;
};
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.unload(1000)));
});

describe('model host process', () => {
  it('loads a runtime in a child process and streams a generation', async () => {
    const h = await start();
    expect(h.pid).not.toBe(process.pid);
    expect(h.capabilities).toMatchObject({ generate: true, parallel: 1 });
    const events = await collect(h.generate(request('one two three'), new AbortController().signal));
    expect(events.map((e) => (e.type === 'text' ? e.text : e.finish_reason)).join('|')).toBe(
      'one| two| three|stop',
    );
    expect(events.at(-1)).toMatchObject({ usage: { prompt_tokens: 3, completion_tokens: 3 } });
  });

  it('answers predict, embed and memory', async () => {
    const h = await start({ ballast_mb: 64 });
    const p = await h.predict([{ a: 1, b: 2 }, { a: 5 }], new AbortController().signal);
    expect(p.predictions).toEqual([3, 5]);
    const e = await h.embed(['a b'], new AbortController().signal);
    expect(e.embeddings[0]).toHaveLength(4);
    expect(await h.memory()).toBeGreaterThan(64 * 1024 * 1024);
  });

  it('refuses bad load config with the runtime code, and reports unexpected load failures', async () => {
    await expect(start({ nope: 1 })).rejects.toMatchObject({ code: 'invalid_load_config', status: 400 });
    await expect(start({ fail_load: true })).rejects.toMatchObject({
      code: 'model_load_failed',
      status: 422,
    });
  });

  it('cancels a generation when its signal aborts', async () => {
    const h = await start({ word_ms: 20 });
    const ac = new AbortController();
    const started = Date.now();
    setTimeout(() => ac.abort(), 50);
    const events = await collect(h.generate(request(`HANG ${'w '.repeat(100)}`), ac.signal));
    expect(events.at(-1)).toMatchObject({ type: 'done', finish_reason: 'cancelled' });
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('reports a crash, fails the requests in flight and keeps other hosts serving', async () => {
    const a = await start();
    const b = await start();
    const crashed = new Promise<string>((resolve) => a.onCrash(resolve));
    await expect(
      collect(a.generate(request('CRASH now'), new AbortController().signal)),
    ).rejects.toMatchObject({
      code: 'runtime_crashed',
      status: 503,
    });
    expect(await crashed).toMatch(/SIGABRT|code/);
    await expect(a.predict([{ a: 1 }], new AbortController().signal)).rejects.toMatchObject({
      code: 'runtime_crashed',
    });
    const events = await collect(b.generate(request('still here'), new AbortController().signal));
    expect(events.at(-1)).toMatchObject({ finish_reason: 'stop' });
  });

  it('unloads by ending the process', async () => {
    const h = await start();
    await h.unload();
    let crashed = false;
    h.onCrash(() => {
      crashed = true;
    });
    await expect(h.predict([{ a: 1 }], new AbortController().signal)).rejects.toMatchObject({
      code: 'runtime_crashed',
    });
    expect(crashed).toBe(false);
  });
});
