import {
  type ChatHistoryItem,
  type ChatWrapper,
  LlamaChat,
  LlamaCompletion,
  type LlamaContextSequence,
  type LlamaModel,
  LlamaVocabularyType,
  type Token,
} from 'node-llama-cpp';
import type { GenerateRequest } from '../types.js';
import { RuntimeError } from '../types.js';
import {
  type LlamaSamplingOptions,
  type LlamaStopReason,
  toChatHistory,
  toSamplingOptions,
} from './params.js';

/** What a generation runs against: the loaded model and how its context was set up. */
export interface LlamaTarget {
  model: LlamaModel;
  /** Null when the model has no chat template: chat input is refused. */
  chatWrapper: ChatWrapper | null;
  /** Tokens per sequence. */
  contextSize: number;
}

export type PreparedInput =
  | { kind: 'chat'; history: ChatHistoryItem[] }
  | { kind: 'completion'; prompt: string };

export interface GenerationPlan {
  input: PreparedInput;
  options: LlamaSamplingOptions;
  /** The prompt exactly as it will be evaluated, in tokens. */
  promptTokens: number;
}

export function vocabularySizeOf(model: LlamaModel): number | undefined {
  return model.fileInfo.metadata.tokenizer?.ggml?.tokens?.length;
}

/**
 * Checks a request and settles everything about it before it takes a sequence. The prompt is
 * tokenized here the way node-llama-cpp will, so that one that does not fit is refused (instead of
 * node-llama-cpp silently dropping its beginning or older chat turns) and so that generation stops
 * with 'length' when the context is full (instead of shifting the context and counting evaluated
 * tokens twice).
 */
export function planGeneration(target: LlamaTarget, req: GenerateRequest): GenerationPlan {
  const options = toSamplingOptions(req.parameters, vocabularySizeOf(target.model));
  let input: PreparedInput;
  let promptTokens: number;
  if (req.input.kind === 'chat') {
    if (!target.chatWrapper) {
      throw new RuntimeError(
        'chat_not_supported',
        'this model has no chat template; send a text completion prompt instead',
        400,
      );
    }
    const history = toChatHistory(req.input.messages);
    input = { kind: 'chat', history };
    const { contextText } = target.chatWrapper.generateContextState({ chatHistory: history });
    promptTokens = contextText.tokenize(target.model.tokenizer).length;
  } else {
    input = { kind: 'completion', prompt: req.input.prompt };
    const bos = beginningToken(target.model);
    const tokens = target.model.tokenize(
      req.input.prompt,
      false,
      bos === null ? undefined : 'trimLeadingSpace',
    );
    promptTokens = tokens.length + (bos === null ? 0 : 1);
  }
  // One free cell at least: node-llama-cpp shifts the context once a sequence is entirely full.
  const room = target.contextSize - promptTokens - 1;
  if (room < 1) {
    throw new RuntimeError(
      'context_length_exceeded',
      `the prompt has ${promptTokens} tokens; this deployment's context holds ${target.contextSize} (context_size), prompt and answer together`,
      400,
    );
  }
  return { input, options: { ...options, maxTokens: Math.min(options.maxTokens, room) }, promptTokens };
}

/** The token node-llama-cpp's completion puts before the prompt (its own rule, restated). */
function beginningToken(model: LlamaModel): Token | null {
  const type = model.vocabularyType;
  if (type === LlamaVocabularyType.rwkv || type === LlamaVocabularyType.ugm) return null;
  if (type === LlamaVocabularyType.wpm) return model.tokens.bos;
  return model.tokens.shouldPrependBosToken ? model.tokens.bos : null;
}

export interface RunCallbacks {
  onTextChunk: (text: string) => void;
  onToken?: (tokens: Token[]) => void;
}

/** One planned generation on a sequence of the target's context; resolves with why it stopped. */
export async function runGeneration(
  sequence: LlamaContextSequence,
  target: LlamaTarget,
  plan: GenerationPlan,
  signal: AbortSignal,
  callbacks: RunCallbacks,
): Promise<LlamaStopReason> {
  const common = { ...plan.options, ...callbacks, signal, stopOnAbortSignal: true };
  if (plan.input.kind === 'chat') {
    const chatWrapper = target.chatWrapper ?? 'auto';
    const chat = new LlamaChat({ contextSequence: sequence, chatWrapper, autoDisposeSequence: false });
    try {
      return (await chat.generateResponse(plan.input.history, common)).metadata.stopReason;
    } finally {
      chat.dispose({ disposeSequence: false });
    }
  }
  const completion = new LlamaCompletion({ contextSequence: sequence, autoDisposeSequence: false });
  try {
    // The plan made the prompt and answer fit, so the whole prompt is kept and nothing shifts.
    const fitted = { ...common, contextShiftSize: 1, disableContextShift: true };
    return (await completion.generateCompletionWithMeta(plan.input.prompt, fitted)).metadata.stopReason;
  } finally {
    completion.dispose({ disposeSequence: false });
  }
}
