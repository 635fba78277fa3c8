import { describe, expect, it } from 'vitest';
import { MODEL_STEPS } from '../index.js';
import { mlpClassifier, mlpRegressor } from './steps.js';

const frame = {
  length: 2,
  columns: [
    { name: 'a', type: 'numeric' as const, values: Float64Array.of(1, 3) },
    { name: 'b', type: 'numeric' as const, values: Float64Array.of(-1, 2) },
  ],
};

describe('mlp serving', () => {
  it('computes the forward pass in plain TypeScript without loading TensorFlow.js', () => {
    expect(MODEL_STEPS).toContain(mlpClassifier);
    // One relu layer of two units, then one linear output; inputs standardised as (x − 1) / 2.
    const p = mlpRegressor.params!.parse({
      features: ['a', 'b'],
      activation: 'relu',
      input_mean: [1, 1],
      input_scale: [2, 2],
      layers: [
        { inputs: 2, outputs: 2, weights: [1, -1, 2, 1], bias: [0, 0.5] },
        { inputs: 2, outputs: 1, weights: [3, -2], bias: [1] },
      ],
      target_mean: 10,
      target_scale: 2,
    });
    const out = mlpRegressor.predict(frame, p).values;
    // Row 1: x = (0, −1) → h = relu(0·1 + −1·2, 0·−1 + −1·1 + 0.5) = (0, 0) → 1 → 1·2 + 10 = 12.
    // Row 2: x = (1, 0.5) → h = relu(1 + 1, −1 + 0.5 + 0.5) = (2, 0) → 7 → 7·2 + 10 = 24.
    expect(Array.from(out)).toEqual([12, 24]);
    // tfjs-core registers its engine on the global object when loaded; serving never loads it.
    expect((globalThis as Record<string, unknown>)._tfengine).toBeUndefined();
  });

  it('turns logits into probabilities in label order', () => {
    const p = mlpClassifier.params!.parse({
      features: ['a', 'b'],
      activation: 'tanh',
      input_mean: [0, 0],
      input_scale: [1, 1],
      layers: [{ inputs: 2, outputs: 3, weights: [1, 0, 0, 0, 1, 0], bias: [0, 0, 0] }],
      classes: 3,
    });
    const out = mlpClassifier.predict(frame, p);
    expect(Array.from(out.values)).toEqual([0, 0]);
    const e = [Math.E, Math.exp(-1), 1];
    const s = e[0]! + e[1]! + e[2]!;
    for (let c = 0; c < 3; c++) expect(out.probabilities![0]![c]).toBeCloseTo(e[c]! / s, 14);
  });
});
