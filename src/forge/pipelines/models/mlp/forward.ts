/**
 * The MLP's forward pass in plain TypeScript over the stored weights: serving needs no TensorFlow.js
 * (and no wasm) and a few rows are faster through loops than through a tensor runtime's dispatch.
 */

export type Activation = 'relu' | 'tanh';

export interface DenseLayer {
  inputs: number;
  outputs: number;
  /** inputs × outputs, row-major (input i, output j at i * outputs + j). */
  weights: number[];
  bias: number[];
}

/** Output-layer values (logits or the scaled regression output) for `n` rows of `x` (row-major). */
export function forward(
  layers: readonly DenseLayer[],
  activation: Activation,
  x: Float64Array,
  n: number,
): Float64Array {
  let input = x;
  for (let l = 0; l < layers.length; l++) {
    const { inputs, outputs, weights, bias } = layers[l]!;
    const w = Float64Array.from(weights);
    const out = new Float64Array(n * outputs);
    const hidden = l < layers.length - 1;
    for (let i = 0; i < n; i++) {
      const o = i * outputs;
      for (let j = 0; j < outputs; j++) out[o + j] = bias[j]!;
      for (let k = 0; k < inputs; k++) {
        const v = input[i * inputs + k]!;
        if (v === 0) continue;
        const wr = k * outputs;
        for (let j = 0; j < outputs; j++) out[o + j]! += v * w[wr + j]!;
      }
      if (hidden)
        for (let j = 0; j < outputs; j++) {
          const z = out[o + j]!;
          out[o + j] = activation === 'relu' ? Math.max(z, 0) : Math.tanh(z);
        }
    }
    input = out;
  }
  return input;
}

/** Row-wise softmax of `k` logits per row, as one probability array per row. */
export function softmaxRows(logits: Float64Array, n: number, k: number): Float64Array[] {
  const rows: Float64Array[] = [];
  for (let i = 0; i < n; i++) {
    const p = logits.slice(i * k, (i + 1) * k);
    let max = Number.NEGATIVE_INFINITY;
    for (const v of p) max = Math.max(max, v);
    let sum = 0;
    for (let c = 0; c < k; c++) sum += p[c] = Math.exp(p[c]! - max);
    for (let c = 0; c < k; c++) p[c]! /= sum;
    rows.push(p);
  }
  return rows;
}
