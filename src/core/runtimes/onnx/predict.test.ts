import { rm } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import {
  tinyOnnxClassifier,
  tinyOnnxClassifierWeights,
  tinyOnnxFixedShape,
  tinyOnnxLabelClassifier,
  tinyOnnxLabelClassifierWeights,
  tinyOnnxMixedTypes,
  tinyOnnxRegressor,
  tinyOnnxRegressorWeights,
  tinyOnnxTwoInputs,
  tinyOnnxTwoInputsFactor,
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

async function load(model: Buffer, task = 'classification', config: Record<string, unknown> = {}) {
  const version = await writeOnnxVersion({ 'model.onnx': model });
  dirs.push(version.dir);
  const loaded = await runtime.load({ ...version, format: 'onnx', task, config });
  models.push(loaded);
  return loaded;
}

function predict(model: LoadedModel, rows: unknown[]) {
  if (!model.predict) throw new Error('model cannot predict');
  return model.predict(rows as Record<string, unknown>[], new AbortController().signal);
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

const logits = (x: number[], W: number[][], b: number[]) =>
  b.map((bj, j) => bj + x.reduce((acc, xi, i) => acc + xi * (W[i]?.[j] as number), 0));
const softmax = (z: number[]) => {
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const s = e.reduce((a, c) => a + c, 0);
  return e.map((v) => v / s);
};
const argmax = (v: number[]) => v.indexOf(Math.max(...v));

const LC = tinyOnnxLabelClassifierWeights;
// One row per class: each picks a row of W whose largest logit is a different class.
const classRows = [
  [1, 0, 0, 0],
  [0, 1, 0, 0],
  [0, 0, 0, 1],
];

function expectProbabilities(actual: Record<string, number> | undefined, expected: number[], keys: string[]) {
  expect(Object.keys(actual ?? {})).toEqual(keys);
  expected.forEach((p, j) => {
    expect(actual?.[keys[j] as string]).toBeCloseTo(p, 5);
  });
  expect(Object.values(actual ?? {}).reduce((a, c) => a + c, 0)).toBeCloseTo(1, 5);
}

describe('onnx runtime: classifier with label and probability outputs', () => {
  it('predicts one row: the class index and probabilities summing to 1', async () => {
    const model = await load(tinyOnnxLabelClassifier());
    const x = [0.3, -1.2, 2.5, 0.7];
    const expected = softmax(logits(x, LC.W, LC.b));
    const result = await predict(model, [{ x }]);
    expect(result.predictions).toEqual([argmax(expected)]);
    expectProbabilities(result.probabilities?.[0], expected, ['0', '1', '2']);
  });

  it('predicts a batch, one label per row, each matching its own computation', async () => {
    const model = await load(tinyOnnxLabelClassifier());
    const result = await predict(
      model,
      classRows.map((x) => ({ x })),
    );
    expect(result.predictions).toEqual([0, 1, 2]);
    classRows.forEach((x, i) => {
      expectProbabilities(result.probabilities?.[i], softmax(logits(x, LC.W, LC.b)), ['0', '1', '2']);
    });
  });

  it('maps class indices to the labels of the load config', async () => {
    const model = await load(tinyOnnxLabelClassifier(), 'classification', { labels: ['cat', 'dog', 'owl'] });
    const result = await predict(
      model,
      classRows.map((x) => ({ x })),
    );
    expect(result.predictions).toEqual(['cat', 'dog', 'owl']);
    expectProbabilities(result.probabilities?.[1], softmax(logits(classRows[1] as number[], LC.W, LC.b)), [
      'cat',
      'dog',
      'owl',
    ]);
  });

  it('is a classifier by its outputs whatever the task', async () => {
    const model = await load(tinyOnnxLabelClassifier(), 'other');
    expect((await predict(model, [{ x: classRows[2] }])).predictions).toEqual([2]);
  });

  it('takes feature-style rows: objects in feature_names order, or arrays of numbers', async () => {
    const model = await load(tinyOnnxLabelClassifier(), 'classification', {
      feature_names: ['a', 'b', 'c', 'd'],
    });
    const result = await predict(model, [
      { d: 0.7, c: 2.5, b: -1.2, a: 0.3 },
      [0, 0, 0, 1],
      { x: [1, 0, 0, 0] },
    ]);
    const expected = softmax(logits([0.3, -1.2, 2.5, 0.7], LC.W, LC.b));
    expect(result.predictions).toEqual([argmax(expected), 2, 0]);
    expectProbabilities(result.probabilities?.[0], expected, ['0', '1', '2']);
  });
});

describe('onnx runtime: single probability output', () => {
  const CW = tinyOnnxClassifierWeights;

  it('is a classifier when the task is classification: label is the most probable class', async () => {
    const model = await load(tinyOnnxClassifier(), 'classification', { labels: ['low', 'mid', 'high'] });
    const rows = [
      [1, 2, 3, 4],
      [-3, 0.5, 1, -2],
    ];
    const result = await predict(
      model,
      rows.map((x) => ({ x })),
    );
    rows.forEach((x, i) => {
      const expected = softmax(logits(x, CW.W, CW.b));
      expect(result.predictions[i]).toBe(['low', 'mid', 'high'][argmax(expected)]);
      expectProbabilities(result.probabilities?.[i], expected, ['low', 'mid', 'high']);
    });
  });

  it('returns the named output per row for other tasks', async () => {
    const model = await load(tinyOnnxClassifier(), 'embedding');
    const result = await predict(model, [{ x: [1, 2, 3, 4] }]);
    expect(result.probabilities).toBeUndefined();
    const out = result.predictions[0] as { probabilities: number[] };
    expect(Object.keys(out)).toEqual(['probabilities']);
    softmax(logits([1, 2, 3, 4], CW.W, CW.b)).forEach((p, j) => {
      expect(out.probabilities[j]).toBeCloseTo(p, 5);
    });
  });
});

describe('onnx runtime: regressor', () => {
  const { w, b } = tinyOnnxRegressorWeights;
  const expected = (x: number[]) => x.reduce((acc, xi, i) => acc + xi * (w[i] as number), b);

  it('predicts one row and a batch as { y: [value] } per row', async () => {
    const model = await load(tinyOnnxRegressor(), 'regression');
    const rows = [
      [1, 2, 3],
      [-0.5, 4, 10],
      [0, 0, 0],
    ];
    const single = await predict(model, [{ x: rows[0] }]);
    expect(single.probabilities).toBeUndefined();
    expect((single.predictions[0] as { y: number[] }).y[0]).toBeCloseTo(expected(rows[0] as number[]), 5);
    const batch = await predict(
      model,
      rows.map((x) => ({ x })),
    );
    rows.forEach((x, i) => {
      const out = batch.predictions[i] as { y: number[] };
      expect(out.y).toHaveLength(1);
      expect(out.y[0]).toBeCloseTo(expected(x), 5);
    });
  });

  it('serves 1000 rows in one call', async () => {
    const model = await load(tinyOnnxRegressor(), 'regression');
    const rows = Array.from({ length: 1000 }, (_, i) => [i / 10, Math.sin(i), (i % 7) - 3]);
    const result = await predict(model, rows);
    expect(result.predictions).toHaveLength(1000);
    rows.forEach((x, i) => {
      expect((result.predictions[i] as { y: number[] }).y[0]).toBeCloseTo(expected(x), 3);
    });
  });
});

describe('onnx runtime: tensor style with two inputs', () => {
  it('feeds named inputs and returns both outputs, int64 as numbers', async () => {
    const model = await load(tinyOnnxTwoInputs(), 'other');
    const rows = [
      { values: [0.5, -1], counts: [3, 4] },
      { counts: [-7, 12345], values: [10, 20] },
    ];
    const result = await predict(model, rows);
    expect(result.probabilities).toBeUndefined();
    expect(result.predictions).toEqual([
      { total: [3.5, 3], scaled: [3 * tinyOnnxTwoInputsFactor, 4 * tinyOnnxTwoInputsFactor] },
      { total: [3, 12365], scaled: [-7 * tinyOnnxTwoInputsFactor, 12345 * tinyOnnxTwoInputsFactor] },
    ]);
    const first = result.predictions[0] as { scaled: unknown[] };
    expect(typeof first.scaled[0]).toBe('number');
  });

  it('refuses an int64 output beyond 2^53 instead of rounding it', async () => {
    const model = await load(tinyOnnxTwoInputs(), 'other');
    const message = await refusal(
      predict(model, [{ values: [0, 0], counts: [2 ** 50, 1] }]),
      'unsafe_integer_output',
      422,
    );
    expect(message).toContain('"scaled"');
  });

  it('refuses non-integers and unsafe integers for int64 inputs', async () => {
    const model = await load(tinyOnnxTwoInputs(), 'other');
    const message = await refusal(
      predict(model, [{ values: [0, 0], counts: [1.5, 1] }]),
      'invalid_input',
      400,
    );
    expect(message).toMatch(/"counts".*int64 of shape \[2\]/);
    await refusal(predict(model, [{ values: [0, 0], counts: [2 ** 60, 1] }]), 'invalid_input', 400);
  });

  it('reads and writes bool, string and float64 tensors', async () => {
    const model = await load(tinyOnnxMixedTypes(), 'other');
    // 0.1 is not a float32 value: a float32 round trip would return 0.2000000029802322.
    const result = await predict(model, [
      { flag: true, name: 'ünïcode ✓', amount: [0.1, -2.5] },
      { flag: false, name: '', amount: [1e300, 3] },
    ]);
    expect(result.predictions).toEqual([
      { not_flag: false, same_name: 'ünïcode ✓', doubled: [0.2, -5] },
      { not_flag: true, same_name: '', doubled: [2e300, 6] },
    ]);
    const bad = [
      { flag: 1, name: 'a', amount: [0, 0] },
      { flag: true, name: 7, amount: [0, 0] },
      { flag: true, name: 'a', amount: ['0', 0] },
    ];
    for (const row of bad) await refusal(predict(model, [row]), 'invalid_input', 400);
  });

  it('runs a model without a batch dim row by row, each row the whole tensor', async () => {
    const model = await load(tinyOnnxFixedShape(), 'other');
    const result = await predict(model, [
      {
        x: [
          [1, 2],
          [3, 4],
        ],
      },
      {
        x: [
          [-1, 0.5],
          [0, 8],
        ],
      },
    ]);
    expect(result.predictions).toEqual([
      {
        y: [
          [2, 4],
          [6, 8],
        ],
      },
      {
        y: [
          [-2, 1],
          [0, 16],
        ],
      },
    ]);
    await refusal(predict(model, [{ x: [1, 2, 3, 4] }]), 'invalid_input', 400);
  });
});

describe('onnx runtime: invalid input', () => {
  it('names the unknown input and the inputs the model takes', async () => {
    const model = await load(tinyOnnxTwoInputs(), 'other');
    const message = await refusal(predict(model, [{ values: [1, 2], count: [1, 2] }]), 'invalid_input', 400);
    expect(message).toContain('"count"');
    expect(message).toContain('"counts" (int64 of shape [2] (model input [batch, 2]))');
  });

  it('names a missing input with its shape and type', async () => {
    const model = await load(tinyOnnxTwoInputs(), 'other');
    const message = await refusal(predict(model, [{ values: [1, 2] }]), 'invalid_input', 400);
    expect(message).toMatch(/Row 0: missing input "counts".*int64 of shape \[2\]/);
  });

  it('refuses a wrong shape, naming the expected shape and type', async () => {
    const model = await load(tinyOnnxLabelClassifier());
    const message = await refusal(
      predict(model, [{ x: [1, 2, 3, 4] }, { x: [1, 2, 3] }]),
      'invalid_input',
      400,
    );
    expect(message).toMatch(/Row 1: input "x" has shape \[3\]; expected float32 of shape \[4\]/);
    await refusal(predict(model, [{ x: [[1, 2, 3, 4]] }]), 'invalid_input', 400);
    await refusal(predict(model, [{ x: 5 }]), 'invalid_input', 400);
  });

  it('refuses non-numeric values, ragged arrays and rows that are not objects', async () => {
    const model = await load(tinyOnnxLabelClassifier());
    const cases: unknown[] = [
      { x: [1, 'two', 3, 4] },
      { x: [1, null, 3, 4] },
      { x: [1, true, 3, 4] },
      { x: [1, [2], 3, 4] },
      'a string row',
      null,
      [1, 2, 3],
    ];
    for (const row of cases) await refusal(predict(model, [row]), 'invalid_input', 400);
    const message = await refusal(predict(model, [{ x: [1, 'two', 3, 4] }]), 'invalid_input', 400);
    expect(message).toMatch(/"x" holds a string, not a float32 value/);
  });

  it('refuses feature rows that miss, add or mistype a feature', async () => {
    const model = await load(tinyOnnxLabelClassifier(), 'classification', {
      feature_names: ['a', 'b', 'c', 'd'],
    });
    expect(await refusal(predict(model, [{ a: 1, b: 2, c: 3 }]), 'invalid_input', 400)).toContain('"d"');
    expect(await refusal(predict(model, [{ a: 1, b: 2, c: 3, d: 4, e: 5 }]), 'invalid_input', 400)).toContain(
      '"e"',
    );
    expect(await refusal(predict(model, [{ a: 1, b: '2', c: 3, d: 4 }]), 'invalid_input', 400)).toContain(
      'feature "b" must be a number',
    );
  });

  it('points to feature_names when named features arrive without it', async () => {
    const model = await load(tinyOnnxLabelClassifier());
    const message = await refusal(predict(model, [{ a: 1, b: 2, c: 3, d: 4 }]), 'invalid_input', 400);
    expect(message).toContain('feature_names');
  });
});
