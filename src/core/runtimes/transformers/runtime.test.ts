import { copyFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { env } from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type HfTextModelFiles,
  writeTinyBertClassifier,
  writeTinyBertEncoder,
  writeTinyCausalLm,
} from '../../../../test/fixtures/models/hf-text.js';
import { type LoadSpec, RuntimeError } from '../types.js';
import { runtime } from './runtime.js';

let base: string;
let n = 0;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'polar-transformers-load-'));
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

/** A fresh copy of a fixture, so tests may damage it. */
async function fixture(
  write: (dir: string) => Promise<HfTextModelFiles>,
  task: string,
  config: Record<string, unknown> = {},
): Promise<LoadSpec> {
  const files = await write(join(base, `m${n++}`));
  return { dir: files.dir, files: files.files, format: 'hf-onnx', task, config };
}
const lm = (dir: string) => writeTinyCausalLm(dir);

async function refusal(promise: Promise<unknown>): Promise<RuntimeError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof RuntimeError)) throw new Error(`expected a RuntimeError, got ${String(err)}`);
  return err;
}

const PARAMS = {
  temperature: 1,
  top_k: 50,
  top_p: 0.9,
  max_length: 4,
  repetition_penalty: 1,
  do_sample: false,
  num_beams: 1,
  length_penalty: 1,
  early_stopping: false,
};

describe('transformers runtime: loading', () => {
  it.each([
    [{ dtype: 'fp64' }, 'dtype'],
    [{ parallel: 5 }, 'parallel'],
    [{ pooling: 'max' }, 'pooling'],
    [{ normalize: 1 }, 'normalize'],
    [{ device: 'gpu' }, 'device'],
  ])('refuses the load config %j naming %s', async (config, field) => {
    const err = await refusal(runtime.load(await fixture(lm, 'chat', config)));
    expect(err).toMatchObject({ code: 'invalid_load_config', status: 400 });
    expect(err.message).toContain(`"${field}"`);
  });

  it('loads the weight file the dtype names, and refuses a dtype whose file is missing', async () => {
    const spec = await fixture(lm, 'chat', { dtype: 'q8' });
    const err = await refusal(runtime.load(spec));
    expect(err).toMatchObject({ code: 'invalid_load_config', status: 400 });
    expect(err.message).toContain('"dtype"');
    expect(err.message).toContain('onnx/model_quantized.onnx');
    // The tiny model has no quantized variant; a copy under that name shows which file is read.
    await copyFile(join(spec.dir, 'onnx/model.onnx'), join(spec.dir, 'onnx/model_quantized.onnx'));
    await rm(join(spec.dir, 'onnx/model.onnx'));
    const loaded = await runtime.load(spec);
    await loaded.unload();
  });

  it('takes parallel from the load config', async () => {
    const loaded = await runtime.load(await fixture(lm, 'chat', { parallel: 3 }));
    expect(loaded.capabilities.parallel).toBe(3);
    await loaded.unload();
  });

  it.each(['config.json', 'tokenizer.json', 'onnx/model.onnx'])(
    'refuses a version without %s',
    async (file) => {
      const spec = await fixture(lm, 'chat');
      await rm(join(spec.dir, file));
      const err = await refusal(runtime.load(spec));
      expect(err).toMatchObject({ code: 'model_file_missing', status: 422 });
      expect(err.message).toContain(file);
    },
  );

  it('refuses a corrupt ONNX file with model_load_failed', async () => {
    const spec = await fixture(lm, 'chat');
    await writeFile(join(spec.dir, 'onnx/model.onnx'), 'not a model');
    expect(await refusal(runtime.load(spec))).toMatchObject({ code: 'model_load_failed', status: 422 });
  });

  it('picks the pipeline from config.json when the task does not name one', async () => {
    const classifier = await runtime.load(await fixture((d) => writeTinyBertClassifier(d), 'sentiment'));
    expect(classifier.capabilities).toMatchObject({ predict: true, embed: false, generate: false });
    await classifier.unload();
    const encoder = await runtime.load(await fixture((d) => writeTinyBertEncoder(d), 'search'));
    expect(encoder.capabilities).toMatchObject({ predict: false, embed: true, generate: false });
    await encoder.unload();
    const tagger = await fixture((d) => writeTinyBertEncoder(d), 'token-classification');
    const config = JSON.parse(await readFile(join(tagger.dir, 'config.json'), 'utf8'));
    await writeFile(
      join(tagger.dir, 'config.json'),
      JSON.stringify({ ...config, architectures: ['BertForTokenClassification'] }),
    );
    expect(await refusal(runtime.load(tagger))).toMatchObject({ code: 'unsupported_task', status: 422 });
  });

  it('works offline from the version directory and writes nothing there', async () => {
    const spec = await fixture(lm, 'chat');
    const before = await readdir(spec.dir, { recursive: true });
    const loaded = await runtime.load(spec);
    expect(env.allowRemoteModels).toBe(false);
    expect(env.useFSCache).toBe(false);
    await expect(env.fetch('https://huggingface.co/')).rejects.toThrow(/network/);
    for await (const _ of loaded.generate!(
      { input: { kind: 'completion', prompt: 'hi' }, parameters: PARAMS },
      new AbortController().signal,
    )) {
      // drain
    }
    await loaded.unload();
    expect((await readdir(spec.dir, { recursive: true })).sort()).toEqual(before.sort());
  });

  it('refuses requests after unload; unloading twice is harmless', async () => {
    const loaded = await runtime.load(await fixture(lm, 'chat'));
    await loaded.unload();
    await loaded.unload();
    const stream = loaded.generate!(
      { input: { kind: 'completion', prompt: 'hi' }, parameters: PARAMS },
      new AbortController().signal,
    );
    const err = await refusal(
      (async () => {
        for await (const _ of stream) {
          // nothing expected
        }
      })(),
    );
    expect(err).toMatchObject({ code: 'model_unloaded', status: 503 });
  });
});
