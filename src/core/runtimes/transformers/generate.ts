/**
 * Text generation over transformers.js: Polar's parameters mapped onto `model.generate`, text
 * streamed through a TextStreamer, stop strings, seeded sampling and cancellation.
 */
import {
  LogitsProcessor,
  LogitsProcessorList,
  type PreTrainedModel,
  type PreTrainedTokenizer,
  random,
  StoppingCriteria,
  Tensor,
  TextStreamer,
} from '@huggingface/transformers';
import { TextChannel } from '../text-channel.js';
import {
  type ChatMessage,
  type FinishReason,
  type GenerateEvent,
  type GenerateRequest,
  type GenerationParameters,
  RuntimeError,
} from '../types.js';
import { type SamplingOptions, sampleToken } from './sampling.js';
import { firstStop, StopFilter, stopWindowTokens } from './stop.js';

type Random = InstanceType<typeof random.Random>;

/** Draws each token with the request's own seeded generator (see sampling.ts for why). */
class SeededSampler extends LogitsProcessor {
  constructor(
    private readonly options: SamplingOptions,
    private readonly generator: Random,
  ) {
    super();
  }

  override _call(_inputIds: bigint[][], logits: Tensor): Tensor {
    const vocab = logits.dims.at(-1)!;
    const data = logits.data as Float32Array;
    for (let start = 0; start < data.length; start += vocab) {
      const row = data.subarray(start, start + vocab);
      const chosen = sampleToken(row, this.options, () => this.generator.random());
      row.fill(Number.NEGATIVE_INFINITY);
      row[chosen] = 0;
    }
    return logits;
  }
}

/** Ends generation on cancellation or once the newest tokens complete a stop string. */
class PolarStopping extends StoppingCriteria {
  cancelled = false;
  stopString = false;

  constructor(
    private readonly abort: AbortSignal,
    private readonly filter: StopFilter,
    private readonly stops: readonly string[],
    private readonly promptTokens: number,
    private readonly tokenizer: PreTrainedTokenizer,
  ) {
    super();
  }

  override _call(inputIds: number[][]): boolean[] {
    const ids = inputIds[0] ?? [];
    if (this.abort.aborted) this.cancelled = true;
    else if (this.filter.stopped) this.stopString = true;
    else if (this.stops.length > 0) {
      const from = Math.max(this.promptTokens, ids.length - stopWindowTokens(this.stops));
      const tail = this.tokenizer.decode(ids.slice(from), { skip_special_tokens: true });
      this.stopString = firstStop(tail, this.stops) >= 0;
    }
    return inputIds.map(() => this.cancelled || this.stopString);
  }
}

/**
 * Refuses what this runtime cannot honour. length_penalty and early_stopping only shape beam
 * search, so with the single beam served here they have nothing to act on (as in transformers).
 */
export function checkParameters(p: GenerationParameters): void {
  if (p.num_beams > 1) {
    // transformers.js 4 draws num_beams candidates but keeps only the first (no beam bookkeeping).
    throw new RuntimeError(
      'unsupported_parameter',
      'num_beams > 1 is not supported by the transformers runtime: transformers.js keeps a single beam',
      400,
    );
  }
  const invalid = (message: string) => new RuntimeError('invalid_parameter', message, 400);
  if (!(p.repetition_penalty > 0))
    throw invalid('repetition_penalty must be above 0 (1.0 leaves logits as they are)');
  if (!(p.temperature >= 0)) throw invalid('temperature must be 0 or more');
  if (!Number.isInteger(p.max_length) || p.max_length < 1)
    throw invalid('max_length must be a whole number ≥ 1');
}

interface Prompt {
  text: string;
  addSpecialTokens: boolean;
}

function promptOf(req: GenerateRequest, tokenizer: PreTrainedTokenizer): Prompt {
  if (req.input.kind === 'completion') {
    // As transformers.js's own pipeline does: BOS/EOS only when the tokenizer config asks for them.
    return {
      text: req.input.prompt,
      addSpecialTokens: Boolean(tokenizer.add_bos_token || tokenizer.add_eos_token),
    };
  }
  if (!tokenizer.chat_template) {
    throw new RuntimeError(
      'chat_unsupported',
      'this model has no chat template; send a completion prompt',
      400,
    );
  }
  if (req.input.messages.length === 0)
    throw new RuntimeError('invalid_input', 'a chat needs at least one message', 400);
  try {
    const messages = req.input.messages.map((m: ChatMessage) => ({ role: m.role, content: m.content }));
    const text = tokenizer.apply_chat_template(messages, { tokenize: false, add_generation_prompt: true });
    // The template already holds the special tokens it wants.
    return { text: String(text), addSpecialTokens: false };
  } catch (err) {
    throw new RuntimeError(
      'invalid_input',
      `the chat template rejected the messages: ${messageOf(err)}`,
      400,
    );
  }
}

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

const idList = (v: unknown): number[] =>
  (Array.isArray(v) ? v : [v]).filter((x): x is number => typeof x === 'number' && Number.isInteger(x));

/** What a loaded causal LM needs to generate. */
export interface TextGenerator {
  model: PreTrainedModel;
  tokenizer: PreTrainedTokenizer;
}

/** Positions the model was built for; prompt + new tokens must fit in them. */
function contextWindow({ model, tokenizer }: TextGenerator): number {
  const fromConfig = (model.config as { max_position_embeddings?: unknown }).max_position_embeddings;
  if (typeof fromConfig === 'number' && fromConfig > 0) return fromConfig;
  return Number.isFinite(tokenizer.model_max_length) ? tokenizer.model_max_length : Number.POSITIVE_INFINITY;
}

function encodePrompt(gen: TextGenerator, prompt: Prompt): { inputIds: Tensor; attentionMask: Tensor } {
  const { tokenizer, model } = gen;
  const enc = tokenizer(prompt.text, { add_special_tokens: prompt.addSpecialTokens }) as {
    input_ids: Tensor;
    attention_mask: Tensor;
  };
  if (enc.input_ids.dims[1]! > 0) return { inputIds: enc.input_ids, attentionMask: enc.attention_mask };
  // An empty prompt starts from BOS when the model has one; a decoder needs at least one token.
  const bos = idList(tokenizer.bos_token_id ?? (model.config as { bos_token_id?: unknown }).bos_token_id)[0];
  if (bos === undefined) throw new RuntimeError('invalid_input', 'the prompt is empty', 400);
  return {
    inputIds: new Tensor('int64', BigInt64Array.of(BigInt(bos)), [1, 1]),
    attentionMask: new Tensor('int64', BigInt64Array.of(1n), [1, 1]),
  };
}

/** Streams one generation; see LoadedModel.generate. */
export async function* generateText(
  gen: TextGenerator,
  req: GenerateRequest,
  signal: AbortSignal,
): AsyncGenerator<GenerateEvent> {
  const p = req.parameters;
  checkParameters(p);
  const { inputIds, attentionMask } = encodePrompt(gen, promptOf(req, gen.tokenizer));
  const promptTokens = inputIds.dims[1]!;
  const window = contextWindow(gen);
  if (promptTokens >= window) {
    throw new RuntimeError(
      'context_length_exceeded',
      `the prompt is ${promptTokens} tokens; this model reads at most ${window} tokens including the answer`,
      400,
    );
  }
  if (signal.aborted) {
    yield {
      type: 'done',
      finish_reason: 'cancelled',
      usage: { prompt_tokens: promptTokens, completion_tokens: 0 },
    };
    return;
  }

  const stops = p.stop ?? [];
  const filter = new StopFilter(stops);
  const channel = new TextChannel();
  // Cancels on the caller's signal and also when the reader stops early (return from the loop).
  const own = new AbortController();
  const onAbort = () => own.abort();
  signal.addEventListener('abort', onAbort, { once: true });

  const criteria = new PolarStopping(own.signal, filter, stops, promptTokens, gen.tokenizer);
  const processors = new LogitsProcessorList();
  if (p.do_sample && p.temperature > 0) {
    // No seed: the generator seeds itself from the OS; with one, the same request draws the same tokens.
    processors.push(new SeededSampler(p, new random.Random(p.seed)));
  }
  const streamer = new TextStreamer(gen.tokenizer, {
    skip_prompt: true,
    skip_special_tokens: true,
    callback_function: (text: string) => channel.push(filter.push(text)),
  });
  const maxNew = Math.min(p.max_length, window - promptTokens);

  const run = gen.model
    .generate({
      input_ids: inputIds,
      attention_mask: attentionMask,
      max_new_tokens: maxNew,
      // Sampling happens in SeededSampler; transformers.js then only takes the surviving token.
      do_sample: false,
      num_beams: 1,
      repetition_penalty: p.repetition_penalty,
      ...(p.eos_token_id !== undefined ? { eos_token_id: p.eos_token_id } : {}),
      ...(p.pad_token_id !== undefined ? { pad_token_id: p.pad_token_id } : {}),
      logits_processor: processors,
      stopping_criteria: [criteria],
      streamer,
    })
    .then((out) => {
      channel.push(filter.flush());
      return out as Tensor;
    })
    .finally(() => channel.end());

  try {
    for await (const text of channel) yield { type: 'text', text };
    const out = await run;
    const ids = out.tolist()[0] as bigint[];
    const completionTokens = ids.length - promptTokens;
    const eos = new Set(eosIds(gen, p));
    let finish: FinishReason = 'length';
    if (criteria.cancelled) finish = 'cancelled';
    else if (criteria.stopString || filter.stopped) finish = 'stop';
    else if (completionTokens > 0 && eos.has(Number(ids.at(-1)))) finish = 'stop';
    yield {
      type: 'done',
      finish_reason: finish,
      usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens },
    };
  } finally {
    signal.removeEventListener('abort', onAbort);
    own.abort();
    await run.catch(() => undefined);
  }
}

function eosIds({ model }: TextGenerator, p: GenerationParameters): number[] {
  if (p.eos_token_id !== undefined) return [p.eos_token_id];
  const fromGeneration = (model.generation_config as { eos_token_id?: unknown } | null)?.eos_token_id;
  return idList(fromGeneration ?? (model.config as { eos_token_id?: unknown }).eos_token_id);
}
