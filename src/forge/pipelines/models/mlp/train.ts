/**
 * Mini-batch training of a dense network on TensorFlow.js (wasm backend). Backpropagation is written
 * out (the gradient of softmax cross-entropy or squared error through dense layers is short), so only
 * forward kernels are needed, and Adam applies the gradients. Weights start from Glorot-uniform draws
 * of Forge's seeded generator and batches are shuffled by it, so a seed fixes the result.
 */
import type { Tensor, Tensor2D } from '@tensorflow/tfjs-core';
import { createRng, type Rng, shuffle } from '../../random.js';
import type { FitContext } from '../../types.js';
import { holdout } from '../trees/holdout.js';
import type { Activation, DenseLayer } from './forward.js';
import { loadTf } from './tf.js';

export interface TrainOptions {
  /** Outputs: classes (softmax cross-entropy) or 1 (squared error). */
  outputs: number;
  classification: boolean;
  hidden: number[];
  activation: Activation;
  learningRate: number;
  epochs: number;
  batchSize: number;
  /** scikit-learn's alpha: (alpha / 2) Σ W² per batch, divided by the batch size. */
  l2: number;
  earlyStopping: boolean;
  validationFraction: number;
  nIterNoChange: number;
  tol: number;
}

export interface TrainResult {
  layers: DenseLayer[];
  epochs: number;
  stoppedEarly: boolean;
}

const YIELD_MS = 20;

/** Glorot (Xavier) uniform, as Keras and scikit-learn initialise dense layers. */
function glorot(r: Rng, inputs: number, outputs: number): Float32Array {
  const limit = Math.sqrt(6 / (inputs + outputs));
  return Float32Array.from({ length: inputs * outputs }, () => (2 * r.next() - 1) * limit);
}

/**
 * Trains on `x` (n × d, row-major, already standardised) and `y` (class indices, or standardised
 * numbers).
 */
export async function trainMlp(
  x: Float32Array,
  y: Float64Array,
  n: number,
  d: number,
  opts: TrainOptions,
  ctx: FitContext,
): Promise<TrainResult> {
  const tf = await loadTf();
  const r = createRng(ctx.seed);
  const k = opts.outputs;
  let trainRows: Uint32Array = Uint32Array.from({ length: n }, (_, i) => i);
  let valRows: Uint32Array | null = null;
  if (opts.earlyStopping) {
    const split = holdout(n, opts.validationFraction, r, opts.classification ? y : undefined);
    if (split.validation.length > 0 && split.train.length > 0) {
      trainRows = split.train;
      valRows = split.validation;
    }
  }
  const sizes = [d, ...opts.hidden, k];
  const ws = sizes
    .slice(1)
    .map((out, l) => tf.variable(tf.tensor2d(glorot(r, sizes[l]!, out), [sizes[l]!, out])));
  const bs = sizes.slice(1).map((out) => tf.variable(tf.zeros([out])));
  const optimizer = tf.train.adam(opts.learningRate);
  const L = ws.length;

  const gather = (rows: Uint32Array, from: number, to: number) => {
    const m = to - from;
    const xb = new Float32Array(m * d);
    const yb = new Float32Array(m * k);
    for (let i = 0; i < m; i++) {
      const row = rows[from + i]!;
      xb.set(x.subarray(row * d, (row + 1) * d), i * d);
      if (opts.classification) yb[i * k + y[row]!] = 1;
      else yb[i] = y[row]!;
    }
    return { X: tf.tensor2d(xb, [m, d]), Y: tf.tensor2d(yb, [m, k]) };
  };
  const act = (z: Tensor) => (opts.activation === 'relu' ? tf.relu(z) : tf.tanh(z));
  /** Forward pass keeping pre-activations and activations; returns the mean loss as a scalar tensor. */
  const run = (X: Tensor2D, Y: Tensor2D) => {
    const hs: Tensor2D[] = [X];
    let h = X;
    for (let l = 0; l < L; l++) {
      const z = tf.add(tf.matMul(h, ws[l]!), bs[l]!) as Tensor2D;
      h = l < L - 1 ? (act(z) as Tensor2D) : z;
      hs.push(h);
    }
    const out = hs[L]!;
    const loss = opts.classification
      ? tf.neg(tf.mean(tf.sum(tf.mul(Y, tf.logSoftmax(out)), 1)))
      : tf.mul(0.5, tf.mean(tf.square(tf.sub(out, Y))));
    return { hs, out, loss };
  };

  let best = Number.POSITIVE_INFINITY;
  let bestWeights: { w: Float32Array; b: Float32Array }[] | null = null;
  let sinceBest = 0;
  let epoch = 0;
  let stoppedEarly = false;
  let lastYield = performance.now();
  const snapshot = () =>
    ws.map((w, l) => ({ w: w.dataSync() as Float32Array, b: bs[l]!.dataSync() as Float32Array }));
  try {
    for (; epoch < opts.epochs; epoch++) {
      shuffle(trainRows, r);
      let lossSum = 0;
      for (let from = 0; from < trainRows.length; from += opts.batchSize) {
        ctx.signal.throwIfAborted();
        const to = Math.min(from + opts.batchSize, trainRows.length);
        const m = to - from;
        const batchLoss = tf.tidy(() => {
          const { X, Y } = gather(trainRows, from, to);
          const { hs, out, loss } = run(X, Y);
          // d(mean loss)/d(output): (softmax − onehot) / m, or (output − y) / m.
          let delta = tf.div(opts.classification ? tf.sub(tf.softmax(out), Y) : tf.sub(out, Y), m);
          const grads: { name: string; tensor: Tensor }[] = [];
          for (let l = L - 1; l >= 0; l--) {
            const gw = tf.matMul(hs[l]!, delta, true, false);
            grads.push({
              name: ws[l]!.name,
              tensor: opts.l2 > 0 ? tf.add(gw, tf.mul(ws[l]!, opts.l2 / m)) : gw,
            });
            grads.push({ name: bs[l]!.name, tensor: tf.sum(delta, 0) });
            if (l > 0) {
              const back = tf.matMul(delta, ws[l]!, false, true);
              const h = hs[l]!;
              // relu' = 1 where the unit was active; tanh' = 1 − tanh².
              delta =
                opts.activation === 'relu' ? tf.mul(back, tf.step(h)) : tf.mul(back, tf.sub(1, tf.square(h)));
            }
          }
          optimizer.applyGradients(grads);
          return loss.dataSync()[0]!;
        });
        lossSum += batchLoss * m;
        if (performance.now() - lastYield > YIELD_MS) {
          await new Promise<void>((resolve) => setImmediate(resolve));
          lastYield = performance.now();
        }
      }
      ctx.metric('train_loss', lossSum / trainRows.length, epoch + 1);
      if (valRows) {
        const v = tf.tidy(() => {
          const { X, Y } = gather(valRows, 0, valRows.length);
          return run(X, Y).loss.dataSync()[0]!;
        });
        ctx.metric('validation_loss', v, epoch + 1);
        if (v < best - opts.tol) {
          best = v;
          sinceBest = 0;
          bestWeights = snapshot();
        } else if (++sinceBest >= opts.nIterNoChange) {
          stoppedEarly = true;
          epoch++;
          break;
        }
      }
      ctx.progress((epoch + 1) / opts.epochs);
    }
    const final = stoppedEarly && bestWeights ? bestWeights : snapshot();
    if (stoppedEarly) ctx.log(`early stopping after ${epoch} epochs; kept the best validation loss`);
    return {
      layers: final.map(({ w, b }, l) => ({
        inputs: sizes[l]!,
        outputs: sizes[l + 1]!,
        weights: Array.from(w, compact),
        bias: Array.from(b, compact),
      })),
      epochs: epoch,
      stoppedEarly,
    };
  } finally {
    for (const v of [...ws, ...bs]) v.dispose();
    optimizer.dispose();
  }
}

/** A float32 in the fewest digits that read back as the same float32 (9 significant always do). */
const compact = (v: number) => Number(v.toPrecision(9));
