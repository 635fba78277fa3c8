import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../platform/errors.js';
import { openAIError } from './errors.js';
import { base64Floats, checkChatRequest, toChatMessages, toParameters, toPrompt } from './request.js';
import type { ChatCompletionBody, CompletionBody } from './schema.js';

const chat = (extra: Partial<ChatCompletionBody> = {}): ChatCompletionBody => ({
  model: 'm',
  messages: [{ role: 'user', content: 'hi' }],
  ...extra,
});
const paramOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    const e = err as AppError;
    return openAIError({ status: e.status, code: e.code, detail: e.message, errors: e.errors }).error.param;
  }
  throw new Error('expected a refusal');
};

describe('OpenAI requests in Polar terms', () => {
  it('maps parameters, preferring max_completion_tokens and dropping nulls', () => {
    expect(
      toParameters(
        chat({
          max_tokens: 10,
          max_completion_tokens: 20,
          temperature: 0,
          top_p: null,
          seed: 0,
          stop: 'END',
          top_k: 3,
          repetition_penalty: 1.2,
        }),
      ),
    ).toEqual({ max_length: 20, temperature: 0, seed: 0, stop: ['END'], top_k: 3, repetition_penalty: 1.2 });
    expect(toParameters(chat({ stop: [] }))).toEqual({});
    const completion: CompletionBody = { model: 'm', prompt: 'p', max_tokens: 5 };
    expect(toParameters(completion)).toEqual({ max_length: 5 });
  });

  it('turns developer into system, joins text parts and refuses tools and other parts', () => {
    expect(
      toChatMessages([
        { role: 'developer', content: 'rules' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'a' },
            { type: 'text', text: 'b' },
          ],
        },
        { role: 'assistant', content: null, refusal: null },
      ]),
    ).toEqual([
      { role: 'system', content: 'rules' },
      { role: 'user', content: 'a\nb' },
      { role: 'assistant', content: '' },
    ]);
    expect(paramOf(() => toChatMessages([{ role: 'user', content: [{ type: 'input_audio' }] }]))).toBe(
      'messages[0].content[0].type',
    );
    expect(
      paramOf(() =>
        toChatMessages([
          { role: 'user', content: 'x' },
          { role: 'assistant', tool_calls: [{}] },
        ]),
      ),
    ).toBe('messages[1].tool_calls');
    expect(paramOf(() => toChatMessages([{ role: 'function', content: 'x' }]))).toBe('messages[0].role');
  });

  it('accepts default values of unsupported parameters and names the first non-default one', () => {
    expect(() =>
      checkChatRequest(
        chat({ n: 1, logprobs: false, tools: [], tool_choice: 'none', store: false, modalities: ['text'] }),
      ),
    ).not.toThrow();
    expect(paramOf(() => checkChatRequest(chat({ tool_choice: 'required' })))).toBe('tool_choice');
    expect(paramOf(() => checkChatRequest(chat({ store: true })))).toBe('store');
    expect(paramOf(() => checkChatRequest(chat({ modalities: ['text', 'audio'] })))).toBe('modalities');
    expect(paramOf(() => checkChatRequest(chat({ stream: false, stream_options: {} })))).toBe(
      'stream_options',
    );
    expect(toPrompt({ model: 'm', prompt: ['only'] })).toBe('only');
    expect(paramOf(() => toPrompt({ model: 'm', prompt: [[1, 2]] }))).toBe('prompt');
  });

  it('encodes embeddings as little-endian float32, as OpenAI clients decode them', () => {
    fc.assert(
      fc.property(fc.array(fc.float({ noNaN: true }), { maxLength: 64 }), (v) => {
        const bytes = Buffer.from(base64Floats(v), 'base64');
        expect(bytes.length).toBe(v.length * 4);
        v.forEach((x, i) => {
          expect(bytes.readFloatLE(i * 4)).toBe(Math.fround(x));
        });
      }),
    );
  });
});
