import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { type PredictResult, RuntimeError } from '../types.js';
import { groupRows, type PreparedRow, prepareRows } from './rows.js';
import type { ClassifierPlan, Signature } from './signature.js';
import { nest, packTensor, tensorValues } from './tensors.js';

type RowOutputs = Record<string, unknown>;

function buildFeeds(sig: Signature, prepared: readonly PreparedRow[], group: readonly number[]) {
  const feeds: Record<string, Tensor> = {};
  const first = prepared[group[0] as number] as PreparedRow;
  sig.inputs.forEach((input, i) => {
    const rowShape = first.shapes[i] as number[];
    const dims = input.mode === 'whole' ? rowShape : [group.length, ...rowShape];
    const values = group.map((row) => ({ row, value: (prepared[row] as PreparedRow).values[i] }));
    feeds[input.name] = packTensor(input, values, rowShape, dims);
  });
  return feeds;
}

/** Splits each output along its batch dim into per-row nested arrays (whole when unbatched). */
function splitOutputs(sig: Signature, results: InferenceSession.ReturnType, n: number): RowOutputs[] {
  const rows: RowOutputs[] = Array.from({ length: n }, () => ({}));
  for (const output of sig.outputs) {
    const tensor = results[output.name] as Tensor | undefined;
    if (!tensor) continue;
    const values = tensorValues(output.name, tensor);
    const dims = tensor.dims;
    // A declared fixed first dim other than 1 is not a batch dim, even when it happens to equal n.
    const declared = output.shape[0];
    const batchDim = typeof declared !== 'number' || declared === 1;
    if (sig.sliced && batchDim && dims[0] === n) {
      const per = n === 0 ? 0 : values.length / n;
      rows.forEach((row, i) => {
        row[output.name] = nest(values, i * per, dims.slice(1));
      });
    } else {
      const whole = nest(values, 0, dims);
      for (const row of rows) row[output.name] = whole;
    }
  }
  return rows;
}

function argmax(values: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if ((values[i] as number) > (values[best] as number)) best = i;
  return best;
}

function classify(plan: ClassifierPlan, out: RowOutputs): { label: unknown; probs?: Record<string, number> } {
  const raw = plan.probabilities ? out[plan.probabilities.name] : undefined;
  // A [batch, classes] output gives each row a flat list of numbers.
  const probs = Array.isArray(raw) && typeof raw[0] === 'number' ? (raw as number[]) : undefined;
  let label: unknown;
  if (plan.label) {
    const value = out[plan.label.name];
    label = Array.isArray(value) ? value[0] : value;
  } else {
    label = probs ? argmax(probs) : undefined;
  }
  const labels = plan.labels;
  if (labels && typeof label === 'number') {
    const named = labels[label];
    if (named === undefined) {
      throw new RuntimeError(
        'labels_mismatch',
        `The model predicted class ${label} but the load config labels list ${labels.length} labels`,
        422,
      );
    }
    label = named;
  }
  if (!probs) return { label };
  const map: Record<string, number> = {};
  for (let j = 0; j < probs.length; j++) map[labels?.[j] ?? String(j)] = probs[j] as number;
  return { label, probs: map };
}

async function run(session: InferenceSession, feeds: InferenceSession.FeedsType, fetches: string[]) {
  try {
    return await session.run(feeds, fetches);
  } catch (err) {
    // Shapes and types were checked up front; what remains depends on values or symbolic dims the
    // graph constrains internally, so it is the request's problem, not the server's.
    const message = err instanceof Error ? err.message : String(err);
    throw new RuntimeError(
      'inference_failed',
      `The model could not run on this input: ${message.trim()}`,
      422,
    );
  }
}

export const cancelled = () => new RuntimeError('prediction_cancelled', 'The prediction was cancelled', 409);

/** Runs rows through the session: validates them, batches what can be batched, formats outputs. */
export async function predictRows(
  session: InferenceSession,
  sig: Signature,
  rows: readonly unknown[],
  signal: AbortSignal,
): Promise<PredictResult> {
  const prepared = prepareRows(sig, rows);
  // Pack every group before the first run so a bad row anywhere fails the call before any work.
  const runs = groupRows(sig, prepared).map((group) => ({ group, feeds: buildFeeds(sig, prepared, group) }));
  const fetches = sig.outputs.map((o) => o.name);
  const outputs: RowOutputs[] = new Array(rows.length);
  for (const { group, feeds } of runs) {
    if (signal.aborted) throw cancelled();
    const results = await run(session, feeds, fetches);
    splitOutputs(sig, results, group.length).forEach((out, i) => {
      outputs[group[i] as number] = out;
    });
  }
  if (signal.aborted) throw cancelled();

  const plan = sig.classifier;
  if (!plan) return { predictions: outputs };
  const classified = outputs.map((out) => classify(plan, out));
  return {
    predictions: classified.map((c) => c.label),
    probabilities: plan.probabilities ? classified.map((c) => c.probs ?? {}) : undefined,
  };
}
