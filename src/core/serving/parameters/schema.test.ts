import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  cleanOverrides,
  DEFAULT_PARAMETERS,
  expectedVersion,
  modelParametersSchema,
  PARAMETER_NAMES,
  parameterOverridesSchema,
  resolveParameters,
} from './schema.js';

const issues = (v: unknown) => parameterOverridesSchema.safeParse(v).error?.issues ?? [];

describe('parameter schema', () => {
  it('has the seed spec defaults, and they satisfy the full schema', () => {
    expect(DEFAULT_PARAMETERS).toEqual({
      temperature: 1.0,
      top_k: 50,
      top_p: 0.9,
      max_length: 100,
      repetition_penalty: 1.0,
      do_sample: true,
      num_beams: 1,
      length_penalty: 1.0,
      early_stopping: false,
    });
    expect(modelParametersSchema.parse(DEFAULT_PARAMETERS)).toEqual(DEFAULT_PARAMETERS);
    expect(Object.isFrozen(DEFAULT_PARAMETERS)).toBe(true);
  });

  it.each([
    ['temperature', 0, 2, false],
    ['top_k', 1, 100, true],
    ['top_p', 0, 1, false],
    ['max_length', 1, 2048, true],
    ['repetition_penalty', 0, 2, false],
    ['num_beams', 1, 10, true],
    ['length_penalty', 0, 2, false],
  ] as const)('%s accepts %d..%d and names its range when outside', (name, min, max, int) => {
    expect(parameterOverridesSchema.parse({ [name]: min })).toEqual({ [name]: min });
    expect(parameterOverridesSchema.parse({ [name]: max })).toEqual({ [name]: max });
    const range = `${name} must be ${int ? 'an integer ' : ''}between ${min} and ${max}`;
    for (const bad of [min - 0.5, max + 0.5, max + 1, '1', null]) {
      const [issue] = issues({ [name]: bad });
      expect(issue?.path, `${name}=${bad}`).toEqual([name]);
      expect(issue?.message, `${name}=${bad}`).toBe(range);
    }
    if (int) expect(issues({ [name]: min + 0.5 })[0]?.message).toBe(range);
  });

  it('takes booleans only for the flags and non-negative integers for token ids', () => {
    expect(parameterOverridesSchema.parse({ do_sample: false, early_stopping: true })).toEqual({
      do_sample: false,
      early_stopping: true,
    });
    expect(issues({ do_sample: 'yes' })[0]?.message).toBe('do_sample must be true or false');
    expect(parameterOverridesSchema.parse({ pad_token_id: 0, eos_token_id: 2 })).toEqual({
      pad_token_id: 0,
      eos_token_id: 2,
    });
    expect(issues({ eos_token_id: -1 })[0]?.message).toBe(
      'eos_token_id must be an integer between 0 and 2147483647',
    );
    expect(issues({ pad_token_id: 1.5 })[0]?.path).toEqual(['pad_token_id']);
  });

  it('refuses unknown names, naming them and the known ones', () => {
    const [issue] = issues({ temprature: 1, temperature: 1 });
    expect(issue?.code).toBe('unrecognized_keys');
    expect(issue?.message).toContain('unknown parameter temprature');
    expect(issue?.message).toContain('known: temperature, top_k');
    expect(issues({ a: 1, b: 2 })[0]?.message).toContain('unknown parameters a, b');
    expect(parameterOverridesSchema.safeParse({}).success).toBe(true);
  });

  it('reads If-Match as a version', () => {
    expect(expectedVersion(undefined)).toBeUndefined();
    expect(expectedVersion('*')).toBeUndefined();
    expect(expectedVersion('"3"')).toBe(3);
    expect(expectedVersion('W/"0"')).toBe(0);
    expect(expectedVersion('12')).toBe(12);
    expect(() => expectedVersion('"abc"')).toThrow(
      expect.objectContaining({ code: 'invalid_if_match', status: 400 }),
    );
  });
});

describe('resolveParameters', () => {
  it('is the defaults when nothing is given', () => {
    expect(resolveParameters({})).toEqual(DEFAULT_PARAMETERS);
  });

  it('takes request over model over runtime over defaults, field by field', () => {
    const p = resolveParameters({
      runtime: { temperature: 0.8, top_k: 40, top_p: 0.95, eos_token_id: 2 },
      model: { temperature: 0.5, top_k: 10 },
      request: { temperature: 0.1 },
    });
    expect(p).toEqual({ ...DEFAULT_PARAMETERS, temperature: 0.1, top_k: 10, top_p: 0.95, eos_token_id: 2 });
  });

  it('keeps falsy values (0, false) rather than skipping them', () => {
    const p = resolveParameters({ model: { temperature: 0, do_sample: false, pad_token_id: 0 } });
    expect(p).toMatchObject({ temperature: 0, do_sample: false, pad_token_id: 0 });
  });

  it('passes over a value outside its range at any layer (a runtime default read from a file)', () => {
    const p = resolveParameters({
      runtime: { temperature: 7, top_k: 0, max_length: 4096 } as never,
      model: { top_p: 3 } as never,
      request: { num_beams: 1.5 } as never,
    });
    expect(p).toEqual(DEFAULT_PARAMETERS);
  });

  it('takes seed and stop from the request only', () => {
    const p = resolveParameters({
      runtime: { seed: 1 },
      model: { stop: ['x'] },
      request: { seed: 7, stop: ['\n'] },
    });
    expect(p.seed).toBe(7);
    expect(p.stop).toEqual(['\n']);
    expect(resolveParameters({ runtime: { seed: 1 } }).seed).toBeUndefined();
  });

  const validOverrides = fc.record(
    {
      temperature: fc.double({ min: 0, max: 2, noNaN: true }),
      top_k: fc.integer({ min: 1, max: 100 }),
      top_p: fc.double({ min: 0, max: 1, noNaN: true }),
      max_length: fc.integer({ min: 1, max: 2048 }),
      repetition_penalty: fc.double({ min: 0, max: 2, noNaN: true }),
      do_sample: fc.boolean(),
      num_beams: fc.integer({ min: 1, max: 10 }),
      length_penalty: fc.double({ min: 0, max: 2, noNaN: true }),
      early_stopping: fc.boolean(),
      pad_token_id: fc.integer({ min: 0, max: 100_000 }),
      eos_token_id: fc.integer({ min: 0, max: 100_000 }),
    },
    { requiredKeys: [] },
  );
  // Anything at all under the parameter names, as a model file could carry.
  const junk = fc.dictionary(
    fc.constantFrom(...PARAMETER_NAMES, 'seed', 'other'),
    fc.oneof(fc.double(), fc.integer(), fc.boolean(), fc.string(), fc.constant(null), fc.constant(undefined)),
  );

  it('always answers parameters within their ranges, whatever each layer holds', () => {
    fc.assert(
      fc.property(fc.option(junk), fc.option(junk), fc.option(junk), (runtime, model, request) => {
        const p = resolveParameters({
          runtime: runtime as never,
          model: model as never,
          request: request as never,
        });
        const { seed: _s, stop: _t, ...rest } = p;
        expect(modelParametersSchema.safeParse(rest).success).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('gives each field the highest layer that sets it to a valid value', () => {
    fc.assert(
      fc.property(validOverrides, validOverrides, validOverrides, (runtime, model, request) => {
        const p = resolveParameters({ runtime, model, request });
        for (const name of PARAMETER_NAMES) {
          const expected =
            request[name] ?? model[name] ?? runtime[name] ?? DEFAULT_PARAMETERS[name as 'top_k'];
          expect(p[name]).toBe(expected);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('cleans stored overrides of names and values that are not valid parameters', () => {
    expect(cleanOverrides({ temperature: 0.3, top_k: 1000, legacy: 1 })).toEqual({ temperature: 0.3 });
    expect(cleanOverrides(null)).toEqual({});
  });
});
