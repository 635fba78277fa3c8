import type { LlamaContextSequence } from 'node-llama-cpp';
import { TextChannel } from '../text-channel.js';
import type { FinishReason, GenerateEvent, GenerateRequest, TokenUsage } from '../types.js';
import { toFinishReason } from './params.js';
import { type GenerationPlan, type LlamaTarget, planGeneration, runGeneration } from './plan.js';
import type { Pool } from './pool.js';

interface Running {
  stop: AbortController;
  settled: Promise<unknown>;
}

/** Runs generations on the model's context sequences, one sequence per request. */
export class Generator {
  private readonly running = new Set<Running>();

  constructor(
    private readonly target: LlamaTarget,
    private readonly pool: Pool<LlamaContextSequence>,
  ) {}

  /** Checks the request now, so a refusal surfaces before anything streams. */
  generate(req: GenerateRequest, signal: AbortSignal): AsyncIterable<GenerateEvent> {
    return this.stream(planGeneration(this.target, req), signal);
  }

  /** Stops every generation (each finishes 'cancelled') and waits until none touches the context. */
  async stopAll(): Promise<void> {
    const all = [...this.running];
    for (const r of all) r.stop.abort();
    await Promise.all(all.map((r) => r.settled));
  }

  private async *stream(plan: GenerationPlan, signal: AbortSignal): AsyncGenerator<GenerateEvent> {
    // One controller for the caller's abort, an early `return()` by the reader, and unload.
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) stop.abort();
    let sequence: LlamaContextSequence;
    try {
      sequence = await this.pool.acquire(stop.signal);
    } catch (err) {
      signal.removeEventListener('abort', onAbort);
      if (!stop.signal.aborted) throw err;
      yield done('cancelled', { prompt_tokens: 0, completion_tokens: 0 });
      return;
    }
    const before = sequence.tokenMeter.usedOutputTokens;
    const channel = new TextChannel();
    const run = runGeneration(sequence, this.target, plan, stop.signal, {
      onTextChunk: (t) => channel.push(t),
    });
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
      // The meter counts evaluations that produce logits: the prompt's last token and every sampled
      // token fed back. That is one per sampled token (the last one sampled is never fed back).
      const completion_tokens = sequence.tokenMeter.usedOutputTokens - before;
      yield done(reason, { prompt_tokens: plan.promptTokens, completion_tokens });
    } finally {
      stop.abort();
      await settled;
      this.running.delete(entry);
      signal.removeEventListener('abort', onAbort);
      await this.recycle(sequence);
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
    this.pool.release(sequence);
  }
}

function done(finish_reason: FinishReason, usage: TokenUsage): GenerateEvent {
  return { type: 'done', finish_reason, usage };
}
