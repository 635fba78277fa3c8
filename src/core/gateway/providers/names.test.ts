import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { modelName } from '../../registry/schema.js';
import { keyHint, registryNameFor } from './names.js';

describe('keyHint', () => {
  it('shows at most the last 4 characters, fewer for short keys', () => {
    expect(keyHint('sk-live-9f8e7d6c5b4a3210')).toBe('…3210');
    expect(keyHint('abcdefgh')).toBe('…gh');
    expect(keyHint('abc')).toBe('…');
  });

  it('never shows more than a quarter of a key', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 200 }), (key) => {
        const shown = keyHint(key).length - 1;
        expect(shown).toBeLessThanOrEqual(Math.min(4, key.length / 4));
      }),
    );
  });
});

describe('registryNameFor', () => {
  it.each([
    ['gpt-4o-mini', 'gpt-4o-mini'],
    ['llama3.2:1b', 'llama3.2-1b'],
    ['meta-llama/Llama-3.1-8B-Instruct', 'meta-llama-Llama-3.1-8B-Instruct'],
    ['@cf/meta/llama', 'cf-meta-llama'],
    [':::', ''],
  ])('%s → %s', (remote, name) => {
    expect(registryNameFor(remote)).toBe(name);
  });

  it('gives a valid registry name or nothing, for any remote id', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (remote) => {
        const name = registryNameFor(remote);
        if (name) expect(modelName.safeParse(name).success, name).toBe(true);
      }),
    );
  });
});
