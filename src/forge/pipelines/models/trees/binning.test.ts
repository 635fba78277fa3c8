import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRng } from '../../random.js';
import { applyBins, fitBins } from './binning.js';

/** The bin by definition: the number of thresholds below the value; NaN to the missing bin. */
function naiveBin(t: Float64Array, v: number, missing: number): number {
  if (Number.isNaN(v)) return missing;
  let b = 0;
  while (b < t.length && t[b]! < v) b++;
  return b;
}

describe('binning', () => {
  it('gives each of few distinct values its own bin, cut halfway between neighbours', () => {
    const col = Float64Array.of(3, 1, 2, 2, Number.NaN, 1, 3);
    const m = fitBins([col], col.length, 255, createRng(0));
    expect(Array.from(m.thresholds[0]!)).toEqual([1.5, 2.5]);
    const d = applyBins(m, [col], col.length);
    expect(Array.from(d.byColumn)).toEqual([2, 0, 1, 1, 255, 0, 2]);
    expect(Array.from(d.nBins)).toEqual([3]);
  });

  it('cuts many distinct values at quantiles, at most max_bins bins', () => {
    const col = Float64Array.from({ length: 10_000 }, (_, i) => i);
    const m = fitBins([col], col.length, 10, createRng(0));
    expect(m.thresholds[0]!.length).toBe(9);
    const counts = new Array(10).fill(0);
    for (const b of applyBins(m, [col], col.length).byColumn) counts[b]++;
    for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThanOrEqual(1);
  });

  it('agrees with the definition on any values, both layouts', () => {
    const value = fc.oneof(
      fc.double({ noNaN: false }),
      fc.integer({ min: -5, max: 5 }),
      fc.constantFrom(Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0, -0, 1e300, -1e-300),
    );
    fc.assert(
      fc.property(
        fc.array(value, { minLength: 1, maxLength: 400 }),
        fc.integer({ min: 2, max: 255 }),
        (vals, maxBins) => {
          const col = Float64Array.from(vals);
          const other = Float64Array.from(vals, (v) => -v);
          const m = fitBins([col, other], col.length, maxBins, createRng(1));
          const d = applyBins(m, [col, other], col.length);
          [col, other].forEach((c, f) => {
            const t = m.thresholds[f]!;
            expect(t.length).toBeLessThan(maxBins);
            for (let i = 1; i < t.length; i++) expect(t[i]!).toBeGreaterThan(t[i - 1]!);
            for (let i = 0; i < c.length; i++) {
              const b = naiveBin(t, c[i]!, maxBins);
              expect(d.byColumn[f * c.length + i]).toBe(b);
              expect(d.binned[i * 2 + f]).toBe(b);
            }
          });
        },
      ),
      { numRuns: 200, examples: [[[1e300, Number.MAX_VALUE, Number.POSITIVE_INFINITY], 3]] },
    );
  });
});
