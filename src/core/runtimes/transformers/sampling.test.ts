import { random } from '@huggingface/transformers';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sampleToken, topKIndices } from './sampling.js';

const logitsArb = fc.array(fc.float({ min: -20, max: 20, noNaN: true }), { minLength: 1, maxLength: 200 });
const argmax = (xs: number[]) => xs.reduce((best, v, i) => (v > xs[best]! ? i : best), 0);

describe('topKIndices', () => {
  it('returns the k largest values, largest first, like a full sort', () => {
    fc.assert(
      fc.property(logitsArb, fc.integer({ min: 1, max: 250 }), (xs, k) => {
        const full = xs.map((_, i) => i).sort((a, b) => xs[b]! - xs[a]! || a - b);
        expect(topKIndices(xs, k).map((i) => xs[i])).toEqual(full.slice(0, k).map((i) => xs[i]));
      }),
    );
  });
});

describe('sampleToken', () => {
  it('only draws among the top_k most likely tokens', () => {
    fc.assert(
      fc.property(
        logitsArb,
        fc.integer({ min: 1, max: 10 }),
        fc.double({ min: 0, max: 0.999 }),
        (xs, k, u) => {
          const token = sampleToken(xs, { temperature: 1, top_k: k, top_p: 1 }, () => u);
          const kth = [...xs].sort((a, b) => b - a)[Math.min(k, xs.length) - 1]!;
          expect(xs[token]!).toBeGreaterThanOrEqual(kth);
        },
      ),
    );
  });

  it('is greedy with top_k 1 or top_p 0, whatever the random draw', () => {
    fc.assert(
      fc.property(logitsArb, fc.double({ min: 0, max: 0.999 }), (xs, u) => {
        const best = xs[argmax(xs)];
        expect(xs[sampleToken(xs, { temperature: 1, top_k: 1, top_p: 1 }, () => u)]).toBe(best);
        expect(xs[sampleToken(xs, { temperature: 1, top_k: 0, top_p: 0 }, () => u)]).toBe(best);
      }),
    );
  });

  it('never draws a token masked to -Infinity', () => {
    const xs = [Number.NEGATIVE_INFINITY, 0, Number.NEGATIVE_INFINITY, 0];
    for (let u = 0; u < 1; u += 0.05) {
      expect([1, 3]).toContain(sampleToken(xs, { temperature: 1, top_k: 0, top_p: 1 }, () => u));
    }
  });

  it('top_p keeps the smallest set reaching the mass: 0.5/0.3/0.2 with top_p 0.7 keeps two tokens', () => {
    const xs = [Math.log(0.5), Math.log(0.3), Math.log(0.2)];
    const drawn = new Set<number>();
    for (let u = 0; u < 1; u += 0.01)
      drawn.add(sampleToken(xs, { temperature: 1, top_k: 0, top_p: 0.7 }, () => u));
    expect([...drawn].sort()).toEqual([0, 1]);
  });

  it('draws in proportion to softmax(logits / temperature)', () => {
    const xs = [1, 0, -1];
    const temperature = 0.5;
    const rng = new random.Random(1234);
    const counts = [0, 0, 0];
    const n = 20_000;
    for (let i = 0; i < n; i++)
      counts[sampleToken(xs, { temperature, top_k: 0, top_p: 1 }, () => rng.random())]!++;
    const weights = xs.map((x) => Math.exp(x / temperature));
    const total = weights.reduce((a, b) => a + b, 0);
    weights.forEach((w, i) => {
      expect(counts[i]! / n).toBeCloseTo(w / total, 1);
    });
  });

  it('the same seed draws the same tokens; another seed draws others', () => {
    const xs = Array.from({ length: 50 }, (_, i) => Math.sin(i));
    const draws = (seed: number) => {
      const rng = new random.Random(seed);
      return Array.from({ length: 30 }, () =>
        sampleToken(xs, { temperature: 1, top_k: 50, top_p: 1 }, () => rng.random()),
      );
    };
    expect(draws(7)).toEqual(draws(7));
    expect(draws(7)).not.toEqual(draws(8));
  });
});
