import { describe, expect, it } from 'vitest';
import type { GenerationStream, InferenceService } from '../inference/types.js';
import type { GenerateEvent, GenerationParameters } from '../runtimes/types.js';
import { createOpenAI, type Generation } from './service.js';

/** Only the answer builders are exercised here; they never call the inference service. */
const openai = createOpenAI({
  inference: {} as InferenceService,
  resolve: () => Promise.reject(new Error('unused')),
});

function generation(events: GenerateEvent[], signal = new AbortController().signal): Generation {
  async function* run() {
    yield* events;
  }
  const stream: GenerationStream = Object.assign(run(), {
    model: 'm',
    modelId: 'id',
    version: 3,
    parameters: {} as GenerationParameters,
    createdAt: new Date(1_700_000_000_500),
  });
  return { id: 'chatcmpl-x', created: 1_700_000_000, model: 'm', version: 3, stream, signal };
}

const usage = { prompt_tokens: 2, completion_tokens: 1 };
const drain = async (it: AsyncIterable<unknown>) => {
  const out: unknown[] = [];
  for await (const x of it) out.push(x);
  return out;
};

describe('answers from a generation', () => {
  it('a cancelled generation is an error, never finish_reason stop', async () => {
    const cancelled: GenerateEvent[] = [
      { type: 'text', text: 'partial' },
      { type: 'done', finish_reason: 'cancelled', usage },
    ];
    await expect(openai.chatResult(generation(cancelled))).rejects.toMatchObject({
      code: 'generation_cancelled',
      status: 503,
    });
    await expect(openai.completionResult(generation(cancelled))).rejects.toMatchObject({
      code: 'generation_cancelled',
    });
    const chunks: unknown[] = [];
    await expect(
      (async () => {
        for await (const c of openai.chatChunks(generation(cancelled), true)) chunks.push(c);
      })(),
    ).rejects.toMatchObject({ code: 'generation_cancelled' });
    expect(JSON.stringify(chunks)).not.toMatch(/"finish_reason":"stop"/);
    expect(chunks).toHaveLength(2); // the role chunk and the partial text

    // A runtime that reports 'stop' after the caller aborted is still cancelled.
    const aborted = new AbortController();
    aborted.abort();
    const late = generation([{ type: 'done', finish_reason: 'stop', usage }], aborted.signal);
    await expect(openai.chatResult(late)).rejects.toMatchObject({ code: 'generation_cancelled' });
    // A stream that ends without `done` is no answer either.
    await expect(openai.chatResult(generation([{ type: 'text', text: 'x' }]))).rejects.toMatchObject({
      code: 'generation_cancelled',
    });
  });

  it('joins text pieces, skips empty ones and totals usage', async () => {
    const g = generation([
      { type: 'text', text: 'a' },
      { type: 'text', text: '' },
      { type: 'text', text: 'b' },
      { type: 'done', finish_reason: 'length', usage },
    ]);
    expect(await openai.chatResult(g)).toMatchObject({
      choices: [{ message: { content: 'ab' }, finish_reason: 'length' }],
      usage: { prompt_tokens: 2, completion_tokens: 1, total_tokens: 3 },
    });
    const chunks = await drain(
      openai.completionChunks(
        generation([
          { type: 'text', text: 'a' },
          { type: 'text', text: '' },
          { type: 'done', finish_reason: 'stop', usage },
        ]),
        true,
      ),
    );
    expect(chunks).toEqual([
      expect.objectContaining({ choices: [expect.objectContaining({ text: 'a', finish_reason: null })] }),
      expect.objectContaining({ choices: [expect.objectContaining({ text: '', finish_reason: 'stop' })] }),
      expect.objectContaining({
        choices: [],
        usage: { prompt_tokens: 2, completion_tokens: 1, total_tokens: 3 },
      }),
    ]);
    expect(chunks.slice(0, 2).every((c) => !Object.hasOwn(c as object, 'usage'))).toBe(true);
  });
});
