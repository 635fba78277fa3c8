import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { GenerationParameters } from '../types.js';
import { toChatHistory, toFinishReason, toSamplingOptions } from './params.js';

const base: GenerationParameters = {
  temperature: 0.7,
  top_k: 40,
  top_p: 0.9,
  max_length: 100,
  repetition_penalty: 1,
  do_sample: true,
  num_beams: 1,
  length_penalty: 1,
  early_stopping: false,
};

describe('sampling options', () => {
  it('maps Polar parameters onto node-llama-cpp options', () => {
    expect(
      toSamplingOptions(
        { ...base, seed: 3, stop: ['\n\n'], eos_token_id: 2, repetition_penalty: 1.3 },
        32000,
      ),
    ).toEqual({
      maxTokens: 100,
      temperature: 0.7,
      topK: 40,
      topP: 0.9,
      seed: 3,
      repeatPenalty: { penalty: 1.3 },
      customStopTriggers: ['\n\n', [2]],
    });
  });

  it('samples greedily when do_sample is false or temperature is 0, and turns the penalty off at 1.0', () => {
    expect(toSamplingOptions({ ...base, do_sample: false }).temperature).toBe(0);
    expect(toSamplingOptions({ ...base, temperature: 0 }).temperature).toBe(0);
    expect(toSamplingOptions(base).repeatPenalty).toBe(false);
    expect(toSamplingOptions(base)).not.toHaveProperty('seed');
  });

  it('maps any integer seed onto a 32-bit one, the same each time', () => {
    expect(toSamplingOptions({ ...base, seed: -1 }).seed).toBe(2 ** 32 - 1);
    expect(toSamplingOptions({ ...base, seed: 2 ** 40 + 5 }).seed).toBe(5);
  });

  it.each([
    [{ num_beams: 2 }, 'unsupported_parameter', 'num_beams > 1 is not supported by the llama runtime'],
    [{ max_length: 0 }, 'invalid_parameter', 'max_length'],
    [{ temperature: -0.1 }, 'invalid_parameter', 'temperature'],
    [{ top_p: 1.5 }, 'invalid_parameter', 'top_p'],
    [{ top_k: -1 }, 'invalid_parameter', 'top_k'],
    [{ repetition_penalty: 0 }, 'invalid_parameter', 'repetition_penalty'],
    [{ stop: ['ok', ''] }, 'invalid_parameter', 'stop'],
    [
      { eos_token_id: 32000 },
      'invalid_parameter',
      'eos_token_id 32000 is not a token of this model (0 to 31999)',
    ],
    [{ eos_token_id: -1 }, 'invalid_parameter', 'eos_token_id'],
  ])('refuses %j', (override, code, message) => {
    expect(() => toSamplingOptions({ ...base, ...override }, 32000)).toThrow(
      expect.objectContaining({ code, status: 400, message: expect.stringContaining(message) }),
    );
  });

  it('accepts every parameter set inside the documented ranges', () => {
    fc.assert(
      fc.property(
        fc.record({
          temperature: fc.double({ min: 0, max: 2, noNaN: true }),
          top_k: fc.integer({ min: 1, max: 100 }),
          top_p: fc.double({ min: 0, max: 1, noNaN: true }),
          max_length: fc.integer({ min: 1, max: 2048 }),
          repetition_penalty: fc.double({ min: 0.01, max: 2, noNaN: true }),
          do_sample: fc.boolean(),
          seed: fc.option(fc.integer(), { nil: undefined }),
        }),
        (p) => {
          const o = toSamplingOptions({ ...base, ...p });
          expect(o.maxTokens).toBe(p.max_length);
          expect(o.temperature).toBe(p.do_sample ? p.temperature : 0);
          if (p.seed !== undefined) expect(o.seed).toBeGreaterThanOrEqual(0);
        },
      ),
    );
  });
});

describe('finish reasons and chat history', () => {
  it('maps node-llama-cpp stop reasons', () => {
    expect(toFinishReason('maxTokens')).toBe('length');
    expect(toFinishReason('abort')).toBe('cancelled');
    for (const r of ['eogToken', 'stopGenerationTrigger', 'customStopTrigger', 'functionCalls'] as const) {
      expect(toFinishReason(r)).toBe('stop');
    }
  });

  it('turns messages into a history ending with the model turn to generate', () => {
    expect(
      toChatHistory([
        { role: 'system', content: 'S' },
        { role: 'user', content: 'U' },
        { role: 'assistant', content: 'A' },
        { role: 'user', content: 'U2' },
      ]),
    ).toEqual([
      { type: 'system', text: 'S' },
      { type: 'user', text: 'U' },
      { type: 'model', response: ['A'] },
      { type: 'user', text: 'U2' },
      { type: 'model', response: [] },
    ]);
    expect(() => toChatHistory([])).toThrow(expect.objectContaining({ code: 'invalid_input' }));
  });
});
