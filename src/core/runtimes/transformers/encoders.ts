/**
 * Embeddings and sequence classification over transformers.js encoders. Both tokenize a batch with
 * padding and truncation, run the model once per batch, and read the outputs directly so token
 * counts and every label's probability come back, not only the pipeline's top answer.
 */
import {
  mean_pooling,
  type PreTrainedModel,
  type PreTrainedTokenizer,
  softmax,
  type Tensor,
} from '@huggingface/transformers';
import { type EmbedResult, type PredictResult, RuntimeError } from '../types.js';

/** Texts per model run: bounds the padded batch tensor while keeping per-run overhead small. */
export const BATCH = 32;

export interface Encoder {
  model: PreTrainedModel;
  tokenizer: PreTrainedTokenizer;
}

const cancelled = () => new RuntimeError('cancelled', 'the request was cancelled', 499);

interface Encoded {
  input_ids: Tensor;
  attention_mask: Tensor;
}

async function runBatch(
  enc: Encoder,
  texts: string[],
): Promise<{ inputs: Encoded; outputs: Record<string, Tensor> }> {
  const inputs = enc.tokenizer(texts, { padding: true, truncation: true }) as Encoded;
  const outputs = (await enc.model(inputs)) as Record<string, Tensor>;
  return { inputs, outputs };
}

function tokenCount(mask: Tensor): number {
  let n = 0;
  for (const v of mask.data as BigInt64Array) n += Number(v);
  return n;
}

export async function embedTexts(
  enc: Encoder,
  texts: string[],
  opts: { pooling: 'mean' | 'cls'; normalize: boolean },
  signal: AbortSignal,
): Promise<EmbedResult> {
  texts.forEach((t, i) => {
    if (typeof t !== 'string') throw new RuntimeError('invalid_input', `input ${i} is not a string`, 400);
  });
  const embeddings: number[][] = [];
  let promptTokens = 0;
  for (let start = 0; start < texts.length; start += BATCH) {
    if (signal.aborted) throw cancelled();
    const { inputs, outputs } = await runBatch(enc, texts.slice(start, start + BATCH));
    promptTokens += tokenCount(inputs.attention_mask);
    let pooled = outputs.sentence_embedding ?? outputs.last_hidden_state ?? outputs.token_embeddings;
    if (!pooled) {
      throw new RuntimeError(
        'unsupported_model',
        'the model has no last_hidden_state output to embed with',
        422,
      );
    }
    // Token vectors [batch, seq, hidden] are pooled; an already pooled output [batch, hidden] is used as is.
    if (pooled.dims.length === 3) {
      pooled = opts.pooling === 'mean' ? mean_pooling(pooled, inputs.attention_mask) : pooled.slice(null, 0);
    }
    if (opts.normalize) pooled = pooled.normalize(2, -1);
    embeddings.push(...(pooled.tolist() as number[][]));
  }
  return { embeddings, prompt_tokens: promptTokens };
}

/** A row is a string or an object with a `text` field (and optionally `text_pair`, not used). */
function rowText(row: unknown, i: number): string {
  if (typeof row === 'string') return row;
  if (row && typeof row === 'object' && typeof (row as { text?: unknown }).text === 'string') {
    return (row as { text: string }).text;
  }
  throw new RuntimeError(
    'invalid_input',
    `row ${i}: expected a string or an object with a "text" string`,
    400,
  );
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

export async function classifyTexts(
  enc: Encoder,
  rows: unknown[],
  signal: AbortSignal,
): Promise<PredictResult> {
  const texts = rows.map(rowText);
  const config = enc.model.config as { id2label?: Record<string, string>; problem_type?: string };
  const label = (i: number) => config.id2label?.[String(i)] ?? `LABEL_${i}`;
  // Multi-label heads score each label on its own (sigmoid); single-label ones share one softmax.
  const multiLabel = config.problem_type === 'multi_label_classification';
  const predictions: string[] = [];
  const probabilities: Record<string, number>[] = [];
  for (let start = 0; start < texts.length; start += BATCH) {
    if (signal.aborted) throw cancelled();
    const { outputs } = await runBatch(enc, texts.slice(start, start + BATCH));
    const logits = outputs.logits;
    if (logits?.dims.length !== 2) {
      throw new RuntimeError(
        'unsupported_model',
        'the model has no logits output of shape [batch, labels]',
        422,
      );
    }
    for (const row of logits.tolist() as number[][]) {
      const probs = multiLabel ? row.map(sigmoid) : (softmax(row) as number[]);
      let best = 0;
      probs.forEach((p, i) => {
        if (p > probs[best]!) best = i;
      });
      predictions.push(label(best));
      probabilities.push(Object.fromEntries(probs.map((p, i) => [label(i), p])));
    }
  }
  return { predictions, probabilities };
}
