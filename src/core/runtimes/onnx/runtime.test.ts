import { rm } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import {
  tinyOnnxClassifier,
  tinyOnnxLabelClassifier,
  tinyOnnxRegressor,
  tinyOnnxRegressorWeights,
  tinyOnnxTwoInputs,
  writeOnnxVersion,
} from '../../../../test/fixtures/models/onnx.js';
import { type LoadedModel, RuntimeError } from '../types.js';
import { runtime } from './runtime.js';

const dirs: string[] = [];
const models: LoadedModel[] = [];
afterAll(async () => {
  for (const m of models) await m.unload();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function loadFiles(
  files: Record<string, Buffer>,
  config: Record<string, unknown> = {},
  task = 'regression',
) {
  const version = await writeOnnxVersion(files);
  dirs.push(version.dir);
  const loaded = await runtime.load({ ...version, format: 'onnx', task, config });
  models.push(loaded);
  return loaded;
}

const loadRegressor = (config: Record<string, unknown> = {}) =>
  loadFiles({ 'model.onnx': tinyOnnxRegressor() }, config);

function predict(model: LoadedModel, rows: unknown[], signal = new AbortController().signal) {
  if (!model.predict) throw new Error('model cannot predict');
  return model.predict(rows as Record<string, unknown>[], signal);
}

async function refusal(promise: Promise<unknown>, code: string, status: number): Promise<string> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RuntimeError);
  expect((err as RuntimeError).code).toBe(code);
  expect((err as RuntimeError).status).toBe(status);
  return (err as RuntimeError).message;
}

const { w, b } = tinyOnnxRegressorWeights;
const regress = (x: number[]) => x.reduce((acc, xi, i) => acc + xi * (w[i] as number), b);
const yOf = (prediction: unknown) => (prediction as { y: number[] }).y[0];

describe('onnx runtime: load', () => {
  it('loads a model and reports predict-only capabilities', async () => {
    const model = await loadRegressor();
    expect(model.capabilities).toEqual({
      generate: false,
      chat: false,
      embed: false,
      predict: true,
      beamSearch: false,
      parallel: 1,
    });
    expect(model.generate).toBeUndefined();
    expect(model.embed).toBeUndefined();
  });

  it('takes session options and reports parallel from the config', async () => {
    const model = await loadRegressor({
      intra_op_threads: 1,
      inter_op_threads: 2,
      graph_optimization: 'disabled',
      parallel: 3,
    });
    expect(model.capabilities.parallel).toBe(3);
    expect(yOf((await predict(model, [{ x: [1, 1, 1] }])).predictions[0])).toBeCloseTo(regress([1, 1, 1]), 5);
  });

  it.each([
    [{ threads: 2 }, '"threads"'],
    [{ graph_optimization: 'max' }, '"graph_optimization"'],
    [{ parallel: 9 }, '"parallel"'],
    [{ parallel: 1.5 }, '"parallel"'],
    [{ intra_op_threads: 0 }, '"intra_op_threads"'],
    [{ max_batch: 'many' }, '"max_batch"'],
    [{ labels: [] }, '"labels"'],
    [{ feature_names: ['a', 'a', 'b'] }, '"feature_names"'],
  ])('refuses load config %j naming the field', async (config, field) => {
    const message = await refusal(loadRegressor(config), 'invalid_load_config', 400);
    expect(message).toContain(field);
  });

  it('refuses feature_names and labels that do not fit the model', async () => {
    expect(await refusal(loadRegressor({ feature_names: ['a', 'b'] }), 'invalid_load_config', 400)).toContain(
      'takes 3 features',
    );
    expect(await refusal(loadRegressor({ labels: ['a', 'b'] }), 'invalid_load_config', 400)).toContain(
      'only to classifiers',
    );
    const twoInputs = loadFiles({ 'model.onnx': tinyOnnxTwoInputs() }, { feature_names: ['a', 'b'] });
    await refusal(twoInputs, 'invalid_load_config', 400);
    const classifier = loadFiles(
      { 'm.onnx': tinyOnnxLabelClassifier() },
      { labels: ['a', 'b'] },
      'classification',
    );
    expect(await refusal(classifier, 'invalid_load_config', 400)).toContain('3 classes');
  });

  it('picks the .onnx file named by the config when the version holds several', async () => {
    const files = {
      'onnx/regressor.onnx': tinyOnnxRegressor(),
      'onnx/classifier.onnx': tinyOnnxClassifier(),
      'README.md': Buffer.from('# two models'),
    };
    const message = await refusal(loadFiles(files), 'invalid_load_config', 400);
    expect(message).toContain('"file"');
    expect(message).toContain('onnx/regressor.onnx');
    await refusal(loadFiles(files, { file: 'onnx/missing.onnx' }), 'invalid_load_config', 400);
    await refusal(loadFiles(files, { file: 'README.md' }), 'invalid_load_config', 400);

    const model = await loadFiles(files, { file: 'onnx/regressor.onnx' });
    expect(yOf((await predict(model, [{ x: [2, 0, 1] }])).predictions[0])).toBeCloseTo(regress([2, 0, 1]), 5);
  });

  it('refuses a version without an .onnx file, and a file onnxruntime cannot read', async () => {
    await refusal(loadFiles({ 'weights.bin': Buffer.from([1, 2, 3]) }), 'model_file_missing', 422);
    await refusal(loadFiles({ 'model.onnx': Buffer.from('not a model at all') }), 'model_load_failed', 422);
  });
});

describe('onnx runtime: limits and lifecycle', () => {
  it('refuses more rows than max_batch with 413', async () => {
    const small = await loadRegressor({ max_batch: 10 });
    const rows = Array.from({ length: 11 }, () => ({ x: [0, 0, 0] }));
    expect(await refusal(predict(small, rows), 'batch_too_large', 413)).toContain('at most 10');
    expect((await predict(small, rows.slice(1))).predictions).toHaveLength(10);

    const byDefault = await loadRegressor();
    const many = Array.from({ length: 1025 }, () => [0, 0, 0]);
    await refusal(predict(byDefault, many), 'batch_too_large', 413);
    expect((await predict(byDefault, many.slice(1))).predictions).toHaveLength(1024);
  });

  it('serves concurrent predictions, each with its own answer', async () => {
    const model = await loadRegressor({ parallel: 4 });
    const calls = Array.from({ length: 24 }, (_, i) =>
      Array.from({ length: 1 + (i % 5) }, (_, r) => [i, r, (i * r) % 3]),
    );
    const results = await Promise.all(calls.map((rows) => predict(model, rows)));
    results.forEach((result, i) => {
      const rows = calls[i] as number[][];
      expect(result.predictions).toHaveLength(rows.length);
      rows.forEach((x, r) => {
        expect(yOf(result.predictions[r])).toBeCloseTo(regress(x), 4);
      });
    });
  });

  it('refuses a prediction whose signal has aborted', async () => {
    const model = await loadRegressor();
    const controller = new AbortController();
    controller.abort();
    await refusal(predict(model, [[1, 2, 3]], controller.signal), 'prediction_cancelled', 409);
  });

  it('waits for running predictions before unloading, then refuses new ones', async () => {
    const model = await loadRegressor();
    const running = predict(model, [[1, 2, 3]]);
    await model.unload();
    expect(yOf((await running).predictions[0])).toBeCloseTo(regress([1, 2, 3]), 5);
    await refusal(predict(model, [[1, 2, 3]]), 'model_unloaded', 409);
    await model.unload();
  });
});
