import { describe, expect, it } from 'vitest';
import { createRng } from '../../random.js';
import { applyBins, fitBins } from './binning.js';
import { buildHistogram, buildPackedByColumn } from './histogram.js';

describe('packed histograms', () => {
  it('give the counts exactly and the sums as the plain histogram does', () => {
    const r = createRng(3);
    const n = 5000;
    const cols = [0, 1, 2, 3, 4].map((f) =>
      Float64Array.from({ length: n }, () =>
        f === 4 && r.next() < 0.2 ? Number.NaN : Math.floor(r.next() * 40),
      ),
    );
    const d = applyBins(fitBins(cols, n, 255, r), cols, n);
    // Hessians spanning six orders of magnitude, as log loss gives near-certain rows.
    const gh = new Float64Array(2 * n);
    let total = 0;
    for (let i = 0; i < n; i++) {
      gh[2 * i] = r.next() - 0.5;
      gh[2 * i + 1] = 10 ** (-6 * r.next());
      total += gh[2 * i + 1]!;
    }
    const unit = 2 ** Math.ceil(Math.log2(2 * total));
    const packed = { gh: gh.map((v, i) => (i % 2 ? v + unit : v)), unit };
    const rows = Uint32Array.from({ length: n }, (_, i) => i).filter((i) => i % 3 !== 0);
    const size = d.nf * d.binStride * 3;
    const plain = new Float64Array(size);
    buildHistogram(d, 1, plain, rows, 0, rows.length, gh, null, d.nf);
    const byColumn = new Float64Array(size);
    buildPackedByColumn(d, byColumn, rows, 0, rows.length, packed, new Float64Array(2 * n));
    for (const h of [byColumn]) {
      for (let j = 0; j < size; j += 3) {
        expect(h[j + 2]).toBe(plain[j + 2]);
        expect(h[j]).toBeCloseTo(plain[j]!, 10);
        expect(Math.abs(h[j + 1]! - plain[j + 1]!)).toBeLessThanOrEqual(1e-10 * unit);
      }
    }
    expect(plain.reduce((a, v, j) => (j % 3 === 2 ? a + v : a), 0)).toBe(rows.length * d.nf);
  });
});
