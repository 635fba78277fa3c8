import { rmSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type TinyLlamaOptions, writeTinyLlama } from '../../../../test/fixtures/models/gguf.js';
import type { GenerateEvent, GenerationParameters, LoadedModel, LoadSpec } from '../types.js';
import { RuntimeError } from '../types.js';
import { runtime } from './runtime.js';

// Runs the real runtime on a tiny random-weight llama (byte-level vocabulary: one token per byte,
// plus <|endoftext|>=256, <|im_start|>=257, <|im_end|>=258). Random weights give near-uniform
// next-token distributions, so sampling with different seeds almost surely differs, and greedy output
// is fixed for a given file.

const defaults: GenerationParameters = {
  temperature: 1,
  top_k: 50,
  top_p: 0.9,
  max_length: 20,
  repetition_penalty: 1,
  do_sample: true,
  num_beams: 1,
  length_penalty: 1,
  early_stopping: false,
};

const dirs: string[] = [];
const loaded: LoadedModel[] = [];

function spec(config: Record<string, unknown> = {}, opts: TinyLlamaOptions = {}): LoadSpec {
  const file = writeTinyLlama(opts);
  dirs.push(file.dir);
  return {
    dir: file.dir,
    files: [{ path: file.path, size: file.size, format: 'gguf' }],
    format: 'gguf',
    task: 'chat',
    config,
  };
}

/** Tests use one thread: the tiny model gains nothing from more, and the machine is shared. */
async function load(config: Record<string, unknown> = {}, opts: TinyLlamaOptions = {}): Promise<LoadedModel> {
  const model = await runtime.load(spec({ threads: 1, context_size: 512, ...config }, opts));
  loaded.push(model);
  return model;
}

afterEach(async () => {
  await Promise.all(loaded.splice(0).map((m) => m.unload()));
});
afterAll(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

type Done = Extract<GenerateEvent, { type: 'done' }>;

/** Reads a whole stream, checking its shape: text events only, then exactly one final `done`. */
async function collect(stream: AsyncIterable<GenerateEvent>, onEvent?: (e: GenerateEvent) => void) {
  const events: GenerateEvent[] = [];
  for await (const e of stream) {
    events.push(e);
    onEvent?.(e);
  }
  const last = events.at(-1);
  expect(last?.type).toBe('done');
  expect(events.slice(0, -1).every((e) => e.type === 'text')).toBe(true);
  const texts = events.flatMap((e) => (e.type === 'text' ? [e.text] : []));
  return { texts, text: texts.join(''), done: last as Done };
}

function gen(
  model: LoadedModel,
  input: { prompt: string } | { messages: { role: 'system' | 'user' | 'assistant'; content: string }[] },
  parameters: Partial<GenerationParameters> = {},
  signal: AbortSignal = new AbortController().signal,
) {
  const req =
    'prompt' in input
      ? {
          input: { kind: 'completion' as const, prompt: input.prompt },
          parameters: { ...defaults, ...parameters },
        }
      : {
          input: { kind: 'chat' as const, messages: input.messages },
          parameters: { ...defaults, ...parameters },
        };
  return model.generate!(req, signal);
}

async function refusal(run: () => unknown): Promise<RuntimeError> {
  try {
    const result = run();
    if (result && typeof result === 'object' && Symbol.asyncIterator in result) {
      for await (const _ of result as AsyncIterable<unknown>);
    } else await result;
  } catch (err) {
    expect(err).toBeInstanceOf(RuntimeError);
    return err as RuntimeError;
  }
  throw new Error('expected a RuntimeError');
}

/** ChatML as the fixture's template renders it: every byte one token, each marker one token. */
function chatmlTokens(messages: { role: string; content: string }[]): number {
  const turn = (role: string, content: string) => 1 + Buffer.byteLength(`${role}\n${content}`) + 2;
  return messages.reduce((n, m) => n + turn(m.role, m.content), 0) + 1 + Buffer.byteLength('assistant\n');
}

describe('llama runtime: load', () => {
  it('loads a GGUF file and reports what it serves', async () => {
    const model = await load({ parallel: 2 });
    expect(model.capabilities).toEqual({
      generate: true,
      chat: true,
      embed: true,
      predict: false,
      beamSearch: false,
      parallel: 2,
    });
    expect(model.generate).toBeTypeOf('function');
    expect(model.embed).toBeTypeOf('function');
    expect(model.predict).toBeUndefined();
  });

  it('loads with every default (no config at all)', async () => {
    const model = await runtime.load(spec({}));
    loaded.push(model);
    expect(model.capabilities.parallel).toBe(1);
    const { done } = await collect(gen(model, { prompt: 'Hi' }, { max_length: 3 }));
    expect(done.usage.completion_tokens).toBe(3);
  });

  it('offers no chat for a model without a chat template, and says so when asked', async () => {
    const model = await load({}, { chatTemplate: null });
    expect(model.capabilities.chat).toBe(false);
    const err = await refusal(() => gen(model, { messages: [{ role: 'user', content: 'Hi' }] }));
    expect(err.code).toBe('chat_not_supported');
    expect(err.status).toBe(400);
    const { done } = await collect(gen(model, { prompt: 'Hi' }, { max_length: 2 }));
    expect(done.finish_reason).toBe('length');
  });

  it.each([
    [{ parallel: 9 }, 'parallel'],
    [{ parallel: 0 }, 'parallel'],
    [{ context_size: 100 }, 'context_size'],
    [{ context_size: 4096 }, 'context_size'], // beyond the fixture's training context (2048)
    [{ threads: 1.5 }, 'threads'],
    [{ embedding: 'yes' }, 'embedding'],
    [{ gpu_layers: 10 }, 'gpu_layers'],
    [{ file: 'other.gguf' }, 'file'],
  ])('refuses load config %j naming the field', async (config, field) => {
    const err = await refusal(() => runtime.load(spec({ threads: 1, ...config })));
    expect(err.code).toBe('invalid_load_config');
    expect(err.status).toBe(400);
    expect(err.message).toContain(field);
  });

  it('refuses a version without a GGUF file and a corrupt GGUF file', async () => {
    const s = spec();
    const none = await refusal(() => runtime.load({ ...s, files: [] }));
    expect(none.code).toBe('model_file_missing');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(`${s.dir}/tiny.gguf`, Buffer.from('GGUF not really'));
    const corrupt = await refusal(() => runtime.load(s));
    expect(corrupt.code).toBe('model_load_failed');
  });

  it('unload is idempotent and refuses work afterwards', async () => {
    const model = await runtime.load(spec({ threads: 1, context_size: 256 }));
    await collect(gen(model, { prompt: 'Hi' }, { max_length: 2 }));
    await model.embed!(['warm the embedding context'], new AbortController().signal);
    await model.unload();
    await model.unload();
    expect((await refusal(() => gen(model, { prompt: 'Hi' }))).code).toBe('model_unloaded');
    expect((await refusal(() => model.embed!(['x'], new AbortController().signal))).code).toBe(
      'model_unloaded',
    );
  });

  it('unloading during a generation ends it as cancelled', async () => {
    const model = await runtime.load(spec({ threads: 1, context_size: 2048 }));
    let unloading: Promise<void> | undefined;
    const { done } = await collect(gen(model, { prompt: 'Hi' }, { max_length: 2000 }), (e) => {
      if (e.type === 'text') unloading ??= model.unload();
    });
    await unloading;
    expect(done.finish_reason).toBe('cancelled');
    expect(done.usage.completion_tokens).toBeLessThan(2000);
  });
});

describe('llama runtime: generate', () => {
  // One model for the tests that need no particular config: loading costs about a second here,
  // most of it node-llama-cpp matching the chat template against its known formats.
  let shared: LoadedModel;
  beforeAll(async () => {
    shared = await runtime.load(spec({ threads: 1, context_size: 2048 }));
  });
  afterAll(() => shared.unload());

  const chat = [
    { role: 'system' as const, content: 'Be brief.' },
    { role: 'user' as const, content: 'Hello there' },
  ];

  it('streams a chat answer through the model template, then one done with real token counts', async () => {
    const model = shared;
    const { texts, text, done } = await collect(gen(model, { messages: chat }));
    expect(texts.length).toBeGreaterThan(0);
    expect(text.length).toBeGreaterThan(0);
    expect(done.finish_reason).toBe('length');
    expect(done.usage.completion_tokens).toBe(20);
    // The template's own tokens, plus the BOS token node-llama-cpp's ChatML wrapper may put first.
    const expected = chatmlTokens(chat);
    expect(done.usage.prompt_tokens).toBeGreaterThanOrEqual(expected);
    expect(done.usage.prompt_tokens).toBeLessThanOrEqual(expected + 1);
  });

  it('counts a longer history (with an assistant turn) in the prompt', async () => {
    const model = shared;
    const history = [
      ...chat,
      { role: 'assistant' as const, content: 'Hi!' },
      { role: 'user' as const, content: 'More' },
    ];
    const short = await collect(gen(model, { messages: chat }, { max_length: 2 }));
    const long = await collect(gen(model, { messages: history }, { max_length: 2 }));
    expect(long.done.usage.prompt_tokens - short.done.usage.prompt_tokens).toBe(
      chatmlTokens(history) - chatmlTokens(chat),
    );
  });

  it('completes raw text without a template: prompt tokens are the prompt bytes', async () => {
    const model = shared;
    const prompt = 'The quick brown fox';
    const { text, done } = await collect(gen(model, { prompt }, { max_length: 12 }));
    expect(text.length).toBeGreaterThan(0);
    expect(done).toEqual({
      type: 'done',
      finish_reason: 'length',
      usage: { prompt_tokens: Buffer.byteLength(prompt), completion_tokens: 12 },
    });
  });

  it('max_length caps the answer and finishes with length', async () => {
    const model = shared;
    for (const input of [{ prompt: 'Once upon a time' }, { messages: chat }]) {
      const { done } = await collect(gen(model, input, { max_length: 5 }));
      expect(done.finish_reason).toBe('length');
      expect(done.usage.completion_tokens).toBeGreaterThan(0);
      expect(done.usage.completion_tokens).toBeLessThanOrEqual(5);
    }
  });

  it('the same seed and temperature give the same text; another seed another text', async () => {
    const model = shared;
    const sampled = { temperature: 1.2, top_k: 0, top_p: 1, max_length: 24 };
    const a = await collect(gen(model, { prompt: 'Seeded' }, { ...sampled, seed: 7 }));
    const b = await collect(gen(model, { prompt: 'Seeded' }, { ...sampled, seed: 7 }));
    const c = await collect(gen(model, { prompt: 'Seeded' }, { ...sampled, seed: 8 }));
    expect(b.text).toBe(a.text);
    expect(c.text).not.toBe(a.text);
  });

  it('greedy decoding (do_sample false, or temperature 0) is deterministic whatever the seed', async () => {
    const model = shared;
    const a = await collect(gen(model, { messages: chat }, { do_sample: false, seed: 1 }));
    const b = await collect(gen(model, { messages: chat }, { do_sample: false, seed: 2, temperature: 1.5 }));
    const c = await collect(gen(model, { messages: chat }, { temperature: 0, seed: 3 }));
    expect(b.text).toBe(a.text);
    expect(c.text).toBe(a.text);
  });

  it.each([
    ['completion', { prompt: 'Stop here' }],
    ['chat', { messages: [{ role: 'user' as const, content: 'Stop here' }] }],
  ])('a stop string ends the %s answer before it, and is not part of the output', async (_, input) => {
    const full = await collect(gen(shared, input, { do_sample: false, max_length: 60 }));
    // Two characters from inside the answer: a multi-character stop must match across tokens.
    const at = full.text.indexOf(stopCandidate(full.text));
    const stop = full.text.slice(at, at + 2);
    const cut = await collect(
      gen(shared, input, { do_sample: false, max_length: 60, stop: ['never', stop] }),
    );
    expect(cut.done.finish_reason).toBe('stop');
    expect(cut.text).toBe(full.text.slice(0, full.text.indexOf(stop)));
    expect(cut.text).not.toContain(stop);
  });

  it('eos_token_id ends the answer at that token with finish stop', async () => {
    const model = shared;
    const full = await collect(gen(model, { prompt: 'Stop here' }, { do_sample: false, max_length: 60 }));
    const stop = stopCandidate(full.text);
    // Printable ASCII bytes are their own token ids in the fixture's vocabulary.
    const eos = stop.charCodeAt(0);
    const cut = await collect(
      gen(model, { prompt: 'Stop here' }, { do_sample: false, max_length: 60, eos_token_id: eos }),
    );
    expect(cut.done.finish_reason).toBe('stop');
    expect(cut.text).toBe(full.text.slice(0, full.text.indexOf(stop)));
    expect(cut.done.usage.completion_tokens).toBeLessThan(full.done.usage.completion_tokens);
  });

  it('abort mid-generation ends promptly with cancelled', async () => {
    const model = shared;
    const controller = new AbortController();
    let abortedAt = 0;
    const { done } = await collect(
      gen(model, { prompt: 'Go on' }, { max_length: 2000 }, controller.signal),
      (e) => {
        if (e.type === 'text' && !abortedAt) {
          abortedAt = performance.now();
          controller.abort();
        }
      },
    );
    expect(performance.now() - abortedAt).toBeLessThan(500);
    expect(done.finish_reason).toBe('cancelled');
    expect(done.usage.completion_tokens).toBeGreaterThan(0);
    expect(done.usage.completion_tokens).toBeLessThan(2000);
    // The sequence went back to the pool: the next request (parallel 1) runs.
    expect((await collect(gen(model, { prompt: 'Again' }, { max_length: 3 }))).done.finish_reason).toBe(
      'length',
    );
  });

  it('an already aborted request is cancelled without generating', async () => {
    const model = shared;
    const { texts, done } = await collect(gen(model, { prompt: 'x' }, {}, AbortSignal.abort()));
    expect(texts).toEqual([]);
    expect(done).toEqual({
      type: 'done',
      finish_reason: 'cancelled',
      usage: { prompt_tokens: 0, completion_tokens: 0 },
    });
  });

  it('a reader that stops early frees the sequence for the next request', async () => {
    const model = shared;
    for await (const e of gen(model, { prompt: 'Leave early' }, { max_length: 500 })) {
      if (e.type === 'text') break;
    }
    const { done } = await collect(gen(model, { prompt: 'Next' }, { max_length: 3 }));
    expect(done.usage.completion_tokens).toBe(3);
  });

  it('parallel 2 runs two generations at once; parallel 1 queues the second', async () => {
    const overlap = async (parallel: number) => {
      const model = await load({ parallel });
      const log: string[] = [];
      const run = (name: string) =>
        collect(gen(model, { prompt: `Request ${name}` }, { max_length: 150 }), (e) => {
          if (e.type === 'done' || !log.includes(`${name}:first`))
            log.push(`${name}:${e.type === 'done' ? 'done' : 'first'}`);
        });
      const [a, b] = await Promise.all([run('a'), run('b')]);
      expect(a.done.usage.completion_tokens).toBe(150);
      expect(b.done.usage.completion_tokens).toBe(150);
      return log;
    };
    const both = await overlap(2);
    expect(both.indexOf('b:first')).toBeLessThan(both.indexOf('a:done'));
    const queued = await overlap(1);
    expect(queued.indexOf('b:first')).toBeGreaterThan(queued.indexOf('a:done'));
  });

  it('refuses a prompt the context cannot hold, and ends with length when the context fills', async () => {
    const small = await load({ context_size: 256 });
    const long = 'x'.repeat(300);
    expect((await refusal(() => gen(small, { prompt: long }))).code).toBe('context_length_exceeded');
    const err = await refusal(() => gen(small, { messages: [{ role: 'user', content: long }] }));
    expect(err).toMatchObject({ code: 'context_length_exceeded', status: 400 });
    expect(err.message).toContain('256');
    // 200 prompt tokens leave 55 for the answer: all of the prompt is kept, nothing is shifted out.
    const { done } = await collect(gen(small, { prompt: 'y'.repeat(200) }, { max_length: 100 }));
    expect(done).toEqual({
      type: 'done',
      finish_reason: 'length',
      usage: { prompt_tokens: 200, completion_tokens: 55 },
    });
    const history = [
      { role: 'system' as const, content: 's'.repeat(40) },
      { role: 'user' as const, content: 'u'.repeat(40) },
      { role: 'assistant' as const, content: 'a'.repeat(40) },
      { role: 'user' as const, content: 'v'.repeat(20) },
    ];
    const chatted = await collect(gen(small, { messages: history }, { max_length: 100 }));
    expect(chatted.done.finish_reason).toBe('length');
    expect(chatted.done.usage.prompt_tokens).toBeGreaterThanOrEqual(chatmlTokens(history));
    expect(chatted.done.usage.prompt_tokens + chatted.done.usage.completion_tokens).toBe(255);
  });

  it('refuses beam search and bad parameters before streaming anything', async () => {
    const model = shared;
    const beams = await refusal(() => gen(model, { prompt: 'x' }, { num_beams: 2 }));
    expect(beams).toMatchObject({ code: 'unsupported_parameter', status: 400 });
    expect(beams.message).toBe('num_beams > 1 is not supported by the llama runtime');
    expect((await refusal(() => gen(model, { prompt: 'x' }, { eos_token_id: 259 }))).code).toBe(
      'invalid_parameter',
    );
    expect((await refusal(() => gen(model, { messages: [] }))).code).toBe('invalid_input');
  });

  it('repetition_penalty changes sampling away from repeats (greedy output differs)', async () => {
    const model = shared;
    const plain = await collect(gen(model, { prompt: 'Repeat' }, { do_sample: false, max_length: 60 }));
    const penalised = await collect(
      gen(model, { prompt: 'Repeat' }, { do_sample: false, max_length: 60, repetition_penalty: 2 }),
    );
    expect(penalised.text).not.toBe(plain.text);
  });
});

describe('llama runtime: embed', () => {
  it('returns one vector of the model width per input, with prompt tokens counted', async () => {
    const model = await load({}, { width: 32, heads: 4 });
    const inputs = ['hello world', 'a different sentence', 'hello world'];
    const res = await model.embed!(inputs, new AbortController().signal);
    expect(res.embeddings).toHaveLength(3);
    for (const v of res.embeddings) {
      expect(v).toHaveLength(32);
      expect(v.every(Number.isFinite)).toBe(true);
    }
    expect(res.embeddings[2]).toEqual(res.embeddings[0]);
    expect(res.embeddings[1]).not.toEqual(res.embeddings[0]);
    const bytes = inputs.reduce((n, s) => n + Buffer.byteLength(s), 0);
    // Every byte is a token; the embedding context may add a BOS/EOS marker per input.
    expect(res.prompt_tokens).toBeGreaterThanOrEqual(bytes);
    expect(res.prompt_tokens).toBeLessThanOrEqual(bytes + 2 * inputs.length);
  });

  it('refuses empty and over-long inputs, and embeds nothing when turned off', async () => {
    const model = await load({ context_size: 256 });
    const signal = new AbortController().signal;
    expect((await refusal(() => model.embed!(['ok', ''], signal))).code).toBe('invalid_input');
    expect((await refusal(() => model.embed!(['x'.repeat(300)], signal))).code).toBe('input_too_long');
    const off = await load({ embedding: false });
    expect(off.capabilities.embed).toBe(false);
    expect((await refusal(() => off.embed!(['x'], signal))).code).toBe('embeddings_disabled');
  });
});

describe('llama runtime: embed and unload', () => {
  it('an aborted request stops with cancelled; unload lets the input in progress finish, then refuses', async () => {
    const model = await runtime.load(spec({ threads: 1, context_size: 256 }));
    expect((await refusal(() => model.embed!(['a', 'b'], AbortSignal.abort()))).code).toBe('cancelled');
    await model.embed!(['warm'], new AbortController().signal);
    const inputs = Array.from({ length: 50 }, (_, i) => `sentence number ${i}`);
    const outcome = refusal(() => model.embed!(inputs, new AbortController().signal));
    await model.unload();
    expect((await outcome).code).toBe('model_unloaded');
  });
});

/** The first printable ASCII character that appears after the start of `text` (not at index 0). */
function stopCandidate(text: string): string {
  for (let i = 1; i < text.length; i++) {
    const ch = text[i]!;
    if (/[!-~]/.test(ch) && text.indexOf(ch) === i) return ch;
  }
  throw new Error(`no printable character to stop at in ${JSON.stringify(text)}`);
}
