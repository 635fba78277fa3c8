import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AutoModelForCausalLM, AutoTokenizer, type PreTrainedTokenizer } from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type HfTextModelFiles,
  TINY_LM,
  writeTinyCausalLm,
} from '../../../../test/fixtures/models/hf-text.js';
import {
  type GenerateEvent,
  type GenerateInput,
  type GenerationParameters,
  type LoadedModel,
  RuntimeError,
} from '../types.js';
import { runtime } from './runtime.js';

const GREEDY: GenerationParameters = {
  temperature: 1,
  top_k: 50,
  top_p: 0.9,
  max_length: 24,
  repetition_penalty: 1,
  do_sample: false,
  num_beams: 1,
  length_penalty: 1,
  early_stopping: false,
};
const SAMPLED: GenerationParameters = { ...GREEDY, do_sample: true, top_p: 1 };
const completion = (prompt: string): GenerateInput => ({ kind: 'completion', prompt });
const chat = (content: string): GenerateInput => ({ kind: 'chat', messages: [{ role: 'user', content }] });

let base: string;
let lm: HfTextModelFiles;
let model: LoadedModel;
let tokenizer: PreTrainedTokenizer;

async function events(
  input: GenerateInput,
  parameters: Partial<GenerationParameters> = {},
  signal = new AbortController().signal,
  on: (e: GenerateEvent) => void = () => {},
  loaded = model,
): Promise<GenerateEvent[]> {
  const out: GenerateEvent[] = [];
  for await (const e of loaded.generate!({ input, parameters: { ...GREEDY, ...parameters } }, signal)) {
    out.push(e);
    on(e);
  }
  return out;
}

async function generate(input: GenerateInput, parameters: Partial<GenerationParameters> = {}) {
  const evs = await events(input, parameters);
  const done = evs.at(-1);
  if (done?.type !== 'done') throw new Error('no done event');
  return { text: evs.map((e) => (e.type === 'text' ? e.text : '')).join(''), done, events: evs };
}

async function refusal(promise: Promise<unknown>): Promise<RuntimeError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof RuntimeError)) throw new Error(`expected a RuntimeError, got ${String(err)}`);
  return err;
}

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'polar-transformers-gen-'));
  lm = await writeTinyCausalLm(join(base, 'lm'));
  model = await runtime.load({ dir: lm.dir, files: lm.files, format: 'hf-onnx', task: 'chat', config: {} });
  tokenizer = await AutoTokenizer.from_pretrained(lm.dir);
});

afterAll(async () => {
  await model?.unload();
  await rm(base, { recursive: true, force: true });
});

describe('transformers runtime: generation', () => {
  it('offers chat generation only, without beam search', () => {
    expect(model.capabilities).toEqual({
      generate: true,
      chat: true,
      embed: false,
      predict: false,
      beamSearch: false,
      parallel: 1,
    });
    expect(model.embed).toBeUndefined();
    expect(model.predict).toBeUndefined();
  });

  it('streams a chat answer as text pieces, then one done with real token counts', async () => {
    const { text, done, events: evs } = await generate(chat('hello there'));
    expect(evs.filter((e) => e.type === 'done')).toHaveLength(1);
    expect(evs.slice(0, -1).every((e) => e.type === 'text' && e.text.length > 0)).toBe(true);
    expect(evs.length).toBeGreaterThan(2);
    const prompt = '<|im_start|>user\nhello there<|im_end|>\n<|im_start|>assistant\n';
    expect(done.usage.prompt_tokens).toBe(tokenizer.encode(prompt, { add_special_tokens: false }).length);
    expect(done).toMatchObject({ finish_reason: 'length', usage: { completion_tokens: GREEDY.max_length } });
    expect(text.length).toBeGreaterThan(0);
    expect(text).not.toContain('<|im_');
  });

  it('completes a raw prompt without the chat template', async () => {
    const { done } = await generate(completion('the quick brown'));
    expect(done.usage.prompt_tokens).toBe(tokenizer.encode('the quick brown').length);
  });

  it.each([1, 5, 17])('max_length %i bounds the new tokens', async (n) => {
    const { done } = await generate(completion('hello'), { max_length: n });
    expect(done).toMatchObject({ finish_reason: 'length', usage: { completion_tokens: n } });
  });

  it('greedy decoding is deterministic and matches transformers.js decoding the same tokens', async () => {
    const a = await generate(completion('the weather'), { max_length: 30 });
    const b = await generate(completion('the weather'), { max_length: 30 });
    expect(b.text).toBe(a.text);
    // temperature 0 with do_sample is greedy too
    expect(
      (await generate(completion('the weather'), { max_length: 30, do_sample: true, temperature: 0 })).text,
    ).toBe(a.text);
    const reference = await AutoModelForCausalLM.from_pretrained(lm.dir, { dtype: 'fp32' });
    const enc = tokenizer('the weather', { add_special_tokens: false });
    const out = await reference.generate({ ...enc, max_new_tokens: 30, do_sample: false });
    const ids = (out as { tolist(): bigint[][] }).tolist()[0]!;
    expect(a.text).toBe(tokenizer.decode(ids.slice(enc.input_ids.dims[1]), { skip_special_tokens: true }));
    await reference.dispose();
  });

  it('a seed reproduces a sampled generation; other seeds and no seed give other text', async () => {
    const params = { ...SAMPLED, max_length: 40 };
    const one = await generate(completion('the quick'), { ...params, seed: 1 });
    expect((await generate(completion('the quick'), { ...params, seed: 1 })).text).toBe(one.text);
    expect((await generate(completion('the quick'), { ...params, seed: 2 })).text).not.toBe(one.text);
    const unseeded = await Promise.all([0, 1].map(() => generate(completion('the quick'), params)));
    expect(unseeded[0]!.text).not.toBe(unseeded[1]!.text);
    const greedy = await generate(completion('the quick'), { max_length: 40 });
    expect(one.text).not.toBe(greedy.text);
  });

  it('sampling with top_k 1 or top_p 0 is greedy', async () => {
    const greedy = await generate(completion('numbers like'), { max_length: 30 });
    expect((await generate(completion('numbers like'), { ...SAMPLED, max_length: 30, top_k: 1 })).text).toBe(
      greedy.text,
    );
    expect((await generate(completion('numbers like'), { ...SAMPLED, max_length: 30, top_p: 0 })).text).toBe(
      greedy.text,
    );
  });

  it('repetition_penalty changes greedy output; 0 is refused', async () => {
    const plain = await generate(completion('the quick'), { max_length: 60 });
    const penalised = await generate(completion('the quick'), { max_length: 60, repetition_penalty: 1.5 });
    expect(penalised.text).not.toBe(plain.text);
    const err = await refusal(generate(completion('x'), { repetition_penalty: 0 }));
    expect(err).toMatchObject({ code: 'invalid_parameter', status: 400 });
  });

  it('eos_token_id ends the generation with finish_reason stop', async () => {
    const reference = await AutoModelForCausalLM.from_pretrained(lm.dir, { dtype: 'fp32' });
    const enc = tokenizer('the quick', { add_special_tokens: false });
    const out = (await reference.generate({ ...enc, max_new_tokens: 20, do_sample: false })) as {
      tolist(): bigint[][];
    };
    await reference.dispose();
    const generated = out.tolist()[0]!.slice(enc.input_ids.dims[1]).map(Number);
    const eos = generated[6]!;
    const { done } = await generate(completion('the quick'), { max_length: 20, eos_token_id: eos });
    expect(done).toMatchObject({
      finish_reason: 'stop',
      usage: { completion_tokens: generated.indexOf(eos) + 1 },
    });
  });

  it('stop strings end the generation before the first one, which is not part of the text', async () => {
    const full = (await generate(completion('the quick'), { max_length: 60 })).text;
    const stop = full.slice(12, 15);
    const cut = full.indexOf(stop);
    const stopped = await generate(completion('the quick'), {
      max_length: 60,
      stop: ['never appears', stop],
    });
    expect(stopped.text).toBe(full.slice(0, cut));
    expect(stopped.done.finish_reason).toBe('stop');
    expect(stopped.done.usage.completion_tokens).toBeLessThan(60);
    expect(stopped.done.usage.completion_tokens).toBeGreaterThan(0);
  });

  it('aborting stops the generation promptly with finish_reason cancelled', async () => {
    const ac = new AbortController();
    const evs = await events(completion('the quick'), { max_length: 2048 }, ac.signal, (e) => {
      if (e.type === 'text') ac.abort();
    });
    const done = evs.at(-1);
    expect(done).toMatchObject({ type: 'done', finish_reason: 'cancelled' });
    if (done?.type !== 'done') throw new Error('no done');
    expect(done.usage.completion_tokens).toBeLessThan(TINY_LM.maxPositions / 2);
  });

  it('an already aborted request ends at once with no new tokens', async () => {
    const ac = new AbortController();
    ac.abort();
    const evs = await events(completion('the quick'), {}, ac.signal);
    expect(evs).toEqual([
      {
        type: 'done',
        finish_reason: 'cancelled',
        usage: { prompt_tokens: tokenizer.encode('the quick').length, completion_tokens: 0 },
      },
    ]);
  });

  it('leaving the stream early stops the generation and the model keeps serving', async () => {
    const stream = model.generate!(
      { input: completion('the quick'), parameters: { ...GREEDY, max_length: 400 } },
      new AbortController().signal,
    );
    for await (const e of stream) {
      expect(e.type).toBe('text');
      break;
    }
    expect((await generate(completion('hello'), { max_length: 3 })).done.usage.completion_tokens).toBe(3);
  });

  it('num_beams > 1 is refused with unsupported_parameter', async () => {
    const err = await refusal(generate(completion('hello'), { num_beams: 2 }));
    expect(err).toMatchObject({ code: 'unsupported_parameter', status: 400 });
    expect(err.message).toContain('num_beams');
  });

  it('caps new tokens at the context window and refuses a prompt that fills it', async () => {
    const { done } = await generate(completion('hello'), { max_length: 2048 });
    expect(done).toMatchObject({ finish_reason: 'length' });
    expect(done.usage.prompt_tokens + done.usage.completion_tokens).toBe(TINY_LM.maxPositions);
    const err = await refusal(generate(completion('~'.repeat(TINY_LM.maxPositions + 10))));
    expect(err).toMatchObject({ code: 'context_length_exceeded', status: 400 });
  });

  it('an empty prompt starts from the BOS token', async () => {
    const { done } = await generate(completion(''), { max_length: 4 });
    expect(done.usage).toEqual({ prompt_tokens: 1, completion_tokens: 4 });
  });

  it('serves concurrent generations with parallel 2, each as it would be alone', async () => {
    const parallel = await runtime.load({ ...specOf(lm), config: { parallel: 2 } });
    try {
      expect(parallel.capabilities.parallel).toBe(2);
      const run = (prompt: string) =>
        events(completion(prompt), { max_length: 40 }, undefined, undefined, parallel).then((evs) =>
          evs.map((e) => (e.type === 'text' ? e.text : '')).join(''),
        );
      const alone = [await run('the quick'), await run('what is')];
      expect(await Promise.all([run('the quick'), run('what is')])).toEqual(alone);
      expect(alone[0]).not.toBe(alone[1]);
    } finally {
      await parallel.unload();
    }
  });

  it('a model without a chat template takes completions only', async () => {
    const plain = await writeTinyCausalLm(join(base, 'plain'), { chatTemplate: false });
    const loaded = await runtime.load({ ...specOf(plain), task: 'completion' });
    try {
      expect(loaded.capabilities).toMatchObject({ generate: true, chat: false });
      const err = await refusal(events(chat('hi'), {}, undefined, undefined, loaded));
      expect(err).toMatchObject({ code: 'chat_unsupported', status: 400 });
      expect(
        (await events(completion('hi'), { max_length: 2 }, undefined, undefined, loaded)).at(-1),
      ).toMatchObject({
        type: 'done',
      });
    } finally {
      await loaded.unload();
    }
  });
});

function specOf(files: HfTextModelFiles) {
  return { dir: files.dir, files: files.files, format: 'hf-onnx', task: 'chat', config: {} };
}
