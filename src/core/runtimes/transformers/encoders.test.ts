import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AutoTokenizer, pipeline } from '@huggingface/transformers';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type HfTextModelFiles,
  TINY_BERT,
  TINY_LABELS,
  writeTinyBertClassifier,
  writeTinyBertEncoder,
} from '../../../../test/fixtures/models/hf-text.js';
import { type LoadedModel, RuntimeError } from '../types.js';
import { BATCH } from './encoders.js';
import { runtime } from './runtime.js';

let base: string;
let encoder: HfTextModelFiles;
let classifier: HfTextModelFiles;
let embedder: LoadedModel;
let predictor: LoadedModel;
const signal = new AbortController().signal;

const spec = (files: HfTextModelFiles, task: string, config: Record<string, unknown> = {}) => ({
  dir: files.dir,
  files: files.files,
  format: 'hf-onnx',
  task,
  config,
});
const norm = (v: number[]) => Math.hypot(...v);

function expectClose(actual: number[], expected: number[]) {
  expect(actual).toHaveLength(expected.length);
  for (const [j, x] of actual.entries()) expect(x).toBeCloseTo(expected[j]!, 5);
}

async function refusal(promise: Promise<unknown>): Promise<RuntimeError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof RuntimeError)) throw new Error(`expected a RuntimeError, got ${String(err)}`);
  return err;
}

/** Token vectors straight from onnxruntime, for checking pooling independently of transformers.js. */
async function tokenVectors(text: string): Promise<number[][]> {
  const tokenizer = await AutoTokenizer.from_pretrained(encoder.dir);
  const ids = tokenizer.encode(text);
  const session = await ort.InferenceSession.create(join(encoder.dir, 'onnx/model.onnx'));
  const feed = (values: number[]) =>
    new ort.Tensor('int64', BigInt64Array.from(values.map(BigInt)), [1, ids.length]);
  const out = await session.run({
    input_ids: feed(ids),
    attention_mask: feed(ids.map(() => 1)),
    token_type_ids: feed(ids.map(() => 0)),
  });
  await session.release();
  const data = Array.from(out.last_hidden_state!.data as Float32Array);
  return ids.map((_, t) => data.slice(t * TINY_BERT.hidden, (t + 1) * TINY_BERT.hidden));
}

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'polar-transformers-enc-'));
  encoder = await writeTinyBertEncoder(join(base, 'encoder'));
  classifier = await writeTinyBertClassifier(join(base, 'classifier'));
  embedder = await runtime.load(spec(encoder, 'embedding'));
  predictor = await runtime.load(spec(classifier, 'classification'));
});

afterAll(async () => {
  await embedder?.unload();
  await predictor?.unload();
  await rm(base, { recursive: true, force: true });
});

describe('transformers runtime: embeddings', () => {
  it('offers embed only', () => {
    expect(embedder.capabilities).toEqual({
      generate: false,
      chat: false,
      embed: true,
      predict: false,
      beamSearch: false,
      parallel: 1,
    });
    expect(embedder.generate).toBeUndefined();
  });

  it('returns one unit-length vector of the hidden size per input and counts real tokens', async () => {
    const { embeddings, prompt_tokens } = await embedder.embed!(
      ['hello world', 'the quick brown fox jumps'],
      signal,
    );
    expect(embeddings).toHaveLength(2);
    for (const v of embeddings) {
      expect(v).toHaveLength(TINY_BERT.hidden);
      expect(norm(v)).toBeCloseTo(1, 5);
    }
    // [CLS] hello world [SEP] + [CLS] the quick brown fox jumps [SEP]; padding is not counted
    expect(prompt_tokens).toBe(4 + 7);
    expect(embeddings[0]).not.toEqual(embeddings[1]);
  });

  it('mean pooling averages the token vectors, cls pooling takes the first', async () => {
    const vectors = await tokenVectors('the lazy dog');
    const mean = vectors[0]!.map((_, j) => vectors.reduce((s, v) => s + v[j]!, 0) / vectors.length);
    const raw = await runtime.load(spec(encoder, 'embedding', { normalize: false }));
    const cls = await runtime.load(spec(encoder, 'embedding', { normalize: false, pooling: 'cls' }));
    try {
      const [m] = (await raw.embed!(['the lazy dog'], signal)).embeddings;
      expectClose(m!, mean);
      expect(norm(m!)).not.toBeCloseTo(1, 2);
      const [c] = (await cls.embed!(['the lazy dog'], signal)).embeddings;
      expectClose(c!, vectors[0]!);
    } finally {
      await raw.unload();
      await cls.unload();
    }
  });

  it('padding in a batch does not change an input’s embedding', async () => {
    const alone = (await embedder.embed!(['fox'], signal)).embeddings[0]!;
    const batched = (await embedder.embed!(['the quick brown fox jumps over the lazy dog', 'fox'], signal))
      .embeddings[1]!;
    expectClose(batched, alone);
  });

  it('embeds more inputs than one batch holds, in order', async () => {
    const texts = Array.from({ length: BATCH + 3 }, (_, i) => `text number ${i}`);
    const { embeddings } = await embedder.embed!(texts, signal);
    expect(embeddings).toHaveLength(texts.length);
    const last = (await embedder.embed!([texts.at(-1)!], signal)).embeddings[0]!;
    expectClose(embeddings.at(-1)!, last);
  });

  it('an empty list embeds nothing; a cancelled request is refused', async () => {
    expect(await embedder.embed!([], signal)).toEqual({ embeddings: [], prompt_tokens: 0 });
    const ac = new AbortController();
    ac.abort();
    expect(await refusal(embedder.embed!(['x'], ac.signal))).toMatchObject({ code: 'cancelled' });
  });
});

describe('transformers runtime: classification', () => {
  it('offers predict only', () => {
    expect(predictor.capabilities).toMatchObject({
      generate: false,
      embed: false,
      predict: true,
      beamSearch: false,
    });
  });

  it('labels come from id2label and each row’s probabilities sum to 1', async () => {
    const rows = [{ text: 'i love it' }, { text: 'terrible' }, 'what a day'];
    const { predictions, probabilities } = await predictor.predict!(
      rows as Record<string, unknown>[],
      signal,
    );
    expect(predictions).toHaveLength(3);
    expect(probabilities).toHaveLength(3);
    probabilities!.forEach((p, i) => {
      expect(Object.keys(p).sort()).toEqual([...TINY_LABELS].sort());
      expect(Object.values(p).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
      const best = Object.entries(p).sort((a, b) => b[1] - a[1])[0]![0];
      expect(predictions[i]).toBe(best);
    });
  });

  it('agrees with the transformers.js text-classification pipeline', async () => {
    const reference = await pipeline('text-classification', classifier.dir, { dtype: 'fp32' });
    const expected = (await reference('terrible', { top_k: null })) as { label: string; score: number }[];
    await reference.dispose();
    const { probabilities } = await predictor.predict!([{ text: 'terrible' }], signal);
    for (const { label, score } of expected) expect(probabilities![0]![label]).toBeCloseTo(score, 6);
  });

  it('uses the model’s own labels', async () => {
    const custom = await writeTinyBertClassifier(join(base, 'spam'), { labels: ['spam', 'ham'] });
    const loaded = await runtime.load(spec(custom, 'classification'));
    try {
      const { predictions, probabilities } = await loaded.predict!([{ text: 'buy now' }], signal);
      expect(['spam', 'ham']).toContain(predictions[0]);
      expect(Object.keys(probabilities![0]!).sort()).toEqual(['ham', 'spam']);
    } finally {
      await loaded.unload();
    }
  });

  it('refuses a row without text', async () => {
    const err = await refusal(predictor.predict!([{ text: 'fine' }, { body: 'no text' }], signal));
    expect(err).toMatchObject({ code: 'invalid_input', status: 400 });
    expect(err.message).toContain('row 1');
  });
});
