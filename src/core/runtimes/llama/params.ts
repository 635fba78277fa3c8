import type { ChatHistoryItem, LLamaContextualRepeatPenalty, Token } from 'node-llama-cpp';
import type { ChatMessage, FinishReason, GenerationParameters } from '../types.js';
import { RuntimeError } from '../types.js';

/** The sampling options node-llama-cpp's LlamaChat and LlamaCompletion share. */
export interface LlamaSamplingOptions {
  maxTokens: number;
  temperature: number;
  topK: number;
  topP: number;
  seed?: number;
  repeatPenalty: false | LLamaContextualRepeatPenalty;
  customStopTriggers: (string | Token[])[];
}

function invalid(message: string): RuntimeError {
  return new RuntimeError('invalid_parameter', message, 400);
}

/**
 * Maps Polar's parameters onto node-llama-cpp's. Refuses what llama.cpp cannot honour (beam search)
 * and values it would misbehave on, so a bad request is a 400 and never a native failure.
 * `vocabularySize` bounds eos_token_id when the model reports it.
 */
export function toSamplingOptions(p: GenerationParameters, vocabularySize?: number): LlamaSamplingOptions {
  if (p.num_beams > 1) {
    throw new RuntimeError(
      'unsupported_parameter',
      'num_beams > 1 is not supported by the llama runtime',
      400,
    );
  }
  if (!Number.isInteger(p.max_length) || p.max_length < 1) {
    throw invalid('max_length must be a positive integer');
  }
  if (!(p.temperature >= 0)) throw invalid('temperature must be 0 or more');
  if (!(p.top_p >= 0 && p.top_p <= 1)) throw invalid('top_p must be between 0 and 1');
  if (!Number.isInteger(p.top_k) || p.top_k < 0) throw invalid('top_k must be a non-negative integer');
  // llama.cpp divides positive logits by the penalty, as transformers does; 0 would divide by zero.
  if (!(p.repetition_penalty > 0)) throw invalid('repetition_penalty must be greater than 0');
  const stop = p.stop ?? [];
  if (stop.some((s) => s.length === 0)) throw invalid('stop strings must not be empty');
  const triggers: (string | Token[])[] = [...stop];
  if (p.eos_token_id !== undefined) {
    const id = p.eos_token_id;
    if (!Number.isInteger(id) || id < 0 || (vocabularySize !== undefined && id >= vocabularySize)) {
      const range = vocabularySize !== undefined ? ` (0 to ${vocabularySize - 1})` : '';
      throw invalid(`eos_token_id ${id} is not a token of this model${range}`);
    }
    // In addition to the model's own end-of-generation tokens, which llama.cpp always honours.
    triggers.push([id as Token]);
  }
  const greedy = !p.do_sample || p.temperature === 0;
  return {
    maxTokens: p.max_length,
    // node-llama-cpp samples greedily at temperature 0 and ignores top_k/top_p then.
    temperature: greedy ? 0 : p.temperature,
    topK: p.top_k,
    topP: p.top_p,
    // llama.cpp seeds are 32-bit; any integer maps onto one deterministically.
    ...(p.seed !== undefined ? { seed: p.seed >>> 0 } : {}),
    repeatPenalty: p.repetition_penalty === 1 ? false : { penalty: p.repetition_penalty },
    customStopTriggers: triggers,
  };
}

export type LlamaStopReason =
  | 'eogToken'
  | 'stopGenerationTrigger'
  | 'customStopTrigger'
  | 'functionCalls'
  | 'maxTokens'
  | 'abort';

export function toFinishReason(reason: LlamaStopReason): FinishReason {
  if (reason === 'maxTokens') return 'length';
  if (reason === 'abort') return 'cancelled';
  return 'stop';
}

/** The chat as node-llama-cpp's history, ending with the empty model turn to be generated. */
export function toChatHistory(messages: ChatMessage[]): ChatHistoryItem[] {
  if (messages.length === 0) {
    throw new RuntimeError('invalid_input', 'a chat needs at least one message', 400);
  }
  const history = messages.map((m): ChatHistoryItem => {
    if (m.role === 'assistant') return { type: 'model', response: [m.content] };
    return { type: m.role, text: m.content };
  });
  history.push({ type: 'model', response: [] });
  return history;
}
