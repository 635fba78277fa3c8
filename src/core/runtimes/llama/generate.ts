import {
  type ChatHistoryItem,
  type ChatWrapper,
  LlamaChat,
  LlamaCompletion,
  type LlamaContextSequence,
  type TokenMeterState,
} from 'node-llama-cpp';
import type { FinishReason, GenerateEvent, GenerateRequest, TokenUsage } from '../types.js';
import { RuntimeError } from '../types.js';
import { TextChannel } from './channel.js';
import {
  type LlamaSamplingOptions,
  type LlamaStopReason,
  toChatHistory,
  toFinishReason,
  toSamplingOptions,
} from './params.js';
import type { Pool } from './pool.js';

type PreparedInput = { kind: 'chat'; history: ChatHistoryItem[] } | { kind: 'completion'; prompt: string };

export interface GeneratorDeps {
  pool: Pool<LlamaContextSequence>;
  /** Null when the model has no chat template: chat input is refused. */
  chatWrapper: ChatWrapper | null;
  vocabularySize: number | undefined;
}

interface Running {
  stop: AbortController;
  settled: Promise<unknown>;
}

/** Runs generations on the model's context sequences, one sequence per request. */
export class Generator {
  private readonly running = new Set<Running>();

  constructor(private readonly deps: GeneratorDeps) {}

  /** Checks the request now, so a refusal surfaces before anything streams. */
  generate(req: GenerateRequest, signal: AbortSignal): AsyncIterable<GenerateEvent> {
    const options = toSamplingOptions(req.parameters, this.deps.vocabularySize);
    return this.stream(this.prepare(req), options, signal);
  }

  /** Stops every generation (each finishes 'cancelled') and waits until none touches the context. */
  async stopAll(): Promise<void> {
    const all = [...this.running];
    for (const r of all) r.stop.abort();
    await Promise.all(all.map((r) => r.settled));
  }

  private prepare(req: GenerateRequest): PreparedInput {
    if (req.input.kind === 'completion') return { kind: 'completion', prompt: req.input.prompt };
    if (!this.deps.chatWrapper) {
      throw new RuntimeError(
        'chat_not_supported',
        'this model has no chat template; send a text completion prompt instead',
        400,
      );
    }
    return { kind: 'chat', history: toChatHistory(req.input.messages) };
  }

  private async *stream(
    input: PreparedInput,
    options: LlamaSamplingOptions,
    signal: AbortSignal,
  ): AsyncGenerator<GenerateEvent> {
    // One controller for the caller's abort, an early `return()` by the reader, and unload.
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) stop.abort();
    let sequence: LlamaContextSequence;
    try {
      sequence = await this.deps.pool.acquire(stop.signal);
    } catch (err) {
      signal.removeEventListener('abort', onAbort);
      if (!stop.signal.aborted) throw err;
      yield done('cancelled', { prompt_tokens: 0, completion_tokens: 0 });
      return;
    }
    const before = sequence.tokenMeter.getState();
    const channel = new TextChannel();
    const run = this.run(sequence, input, options, stop.signal, (text) => channel.push(text));
    const settled = run.then(
      () => channel.end(),
      () => channel.end(),
    );
    const entry: Running = { stop, settled };
    this.running.add(entry);
    try {
      for await (const text of channel) yield { type: 'text', text };
      let reason: FinishReason;
      try {
        reason = toFinishReason(await run);
      } catch (err) {
        // Aborted before the first token: node-llama-cpp throws instead of returning.
        if (!stop.signal.aborted) throw err;
        reason = 'cancelled';
      }
      yield done(reason, usageSince(sequence, before));
    } finally {
      stop.abort();
      await settled;
      this.running.delete(entry);
      signal.removeEventListener('abort', onAbort);
      await this.recycle(sequence);
    }
  }

  private async run(
    sequence: LlamaContextSequence,
    input: PreparedInput,
    options: LlamaSamplingOptions,
    signal: AbortSignal,
    onTextChunk: (text: string) => void,
  ): Promise<LlamaStopReason> {
    const common = { ...options, signal, stopOnAbortSignal: true, onTextChunk };
    if (input.kind === 'chat') {
      const chatWrapper = this.deps.chatWrapper ?? 'auto';
      const chat = new LlamaChat({ contextSequence: sequence, chatWrapper, autoDisposeSequence: false });
      try {
        return (await chat.generateResponse(input.history, common)).metadata.stopReason;
      } finally {
        chat.dispose({ disposeSequence: false });
      }
    }
    const completion = new LlamaCompletion({ contextSequence: sequence, autoDisposeSequence: false });
    try {
      return (await completion.generateCompletionWithMeta(input.prompt, common)).metadata.stopReason;
    } finally {
      completion.dispose({ disposeSequence: false });
    }
  }

  /** Every request starts from an empty sequence, so no text leaks from one request into the next. */
  private async recycle(sequence: LlamaContextSequence): Promise<void> {
    if (sequence.disposed) return;
    try {
      await sequence.clearHistory();
    } catch {
      return; // the context was disposed meanwhile (unload); the pool is closed too
    }
    this.deps.pool.release(sequence);
  }
}

function done(finish_reason: FinishReason, usage: TokenUsage): GenerateEvent {
  return { type: 'done', finish_reason, usage };
}

/**
 * Token counts from the sequence's meter. llama.cpp computes logits for the prompt's last token and
 * for each generated token fed back, and the meter counts those evaluations as "output"; so the
 * prompt is the input count plus that one last token, and the output count equals the number of
 * tokens sampled (the final one is sampled but never fed back).
 */
function usageSince(sequence: LlamaContextSequence, before: TokenMeterState): TokenUsage {
  const input = sequence.tokenMeter.usedInputTokens - before.usedInputTokens;
  const output = sequence.tokenMeter.usedOutputTokens - before.usedOutputTokens;
  return { prompt_tokens: input + (output > 0 ? 1 : 0), completion_tokens: output };
}
