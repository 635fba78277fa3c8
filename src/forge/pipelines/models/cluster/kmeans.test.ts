import { describe, expect, it } from 'vitest';
import { frameOf, normals, testContext } from '../../test-frames.js';
import type { Target } from '../../types.js';
import { kmeans } from './kmeans.js';

const none: Target = { task: 'clustering', values: new Float64Array(0) };
const CENTRES = [
  [0, 0],
  [10, 10],
  [-10, 8],
];

function blobs(perBlob: number, seed: number) {
  const nx = normals(perBlob * 3, seed);
  const ny = normals(perBlob * 3, seed + 1);
  const x: number[] = [];
  const y: number[] = [];
  const truth: number[] = [];
  for (let i = 0; i < perBlob * 3; i++) {
    const c = i % 3;
    x.push((CENTRES[c]?.[0] as number) + nx[i]!);
    y.push((CENTRES[c]?.[1] as number) + ny[i]!);
    truth.push(c);
  }
  return { frame: frameOf({ x, y }), truth };
}

describe('kmeans', () => {
  const { frame, truth } = blobs(100, 5);

  it('finds well-separated blobs: centres near the truth and one cluster per blob', async () => {
    const ctx = testContext({ seed: 3 });
    const p = await kmeans.fit(frame, none, kmeans.config.parse({ n_clusters: 3, n_init: 3 }), ctx);
    const sorted = [...p.centers].sort((a, b) => a[0]! - b[0]!);
    const expected = [...CENTRES].sort((a, b) => a[0]! - b[0]!);
    sorted.forEach((c, k) => {
      expect(c[0]).toBeCloseTo(expected[k]![0]!, 0);
      expect(c[1]).toBeCloseTo(expected[k]![1]!, 0);
    });
    const out = kmeans.predict(frame, p);
    // Same blob ⇔ same cluster.
    const mapping = new Map<number, number>();
    for (const [i, t] of truth.entries()) mapping.set(t, out.values[i]!);
    expect(new Set(mapping.values()).size).toBe(3);
    for (const [i, t] of truth.entries()) expect(out.values[i]).toBe(mapping.get(t));
    const inertia = Array.from(out.distances ?? []).reduce((a, b) => a + b, 0);
    expect(inertia).toBeCloseTo(p.inertia, 6);
    // About 2 (two unit-variance dimensions) per row.
    expect(p.inertia / 300).toBeGreaterThan(1.5);
    expect(p.inertia / 300).toBeLessThan(2.5);
    expect(ctx.progressed.at(-1)).toBe(1);
    expect(ctx.metrics.filter((m) => m.name === 'inertia')).toHaveLength(3);
  });

  it('is reproducible from its seed', async () => {
    const cfg = kmeans.config.parse({ n_clusters: 4, n_init: 2 });
    const a = await kmeans.fit(frame, none, cfg, testContext({ seed: 9 }));
    const b = await kmeans.fit(frame, none, cfg, testContext({ seed: 9 }));
    expect(b).toEqual(a);
  });

  it('assigns new rows to their nearest centre', async () => {
    const p = await kmeans.fit(frame, none, kmeans.config.parse({ n_clusters: 3 }), testContext());
    const fresh = frameOf({ x: [9.5, -0.2], y: [10.4, 0.1] });
    const out = kmeans.predict(fresh, p);
    const nearest = (pt: number[]) =>
      p.centers
        .map((c) => (c[0]! - pt[0]!) ** 2 + (c[1]! - pt[1]!) ** 2)
        .reduce((b, d, k, all) => (d < all[b]! ? k : b), 0);
    expect(out.values[0]).toBe(nearest([9.5, 10.4]));
    expect(out.values[1]).toBe(nearest([-0.2, 0.1]));
  });

  it('needs at least k rows and numeric features', () => {
    expect(() =>
      kmeans.fit(frameOf({ x: [1, 2] }), none, kmeans.config.parse({ n_clusters: 3 }), testContext()),
    ).toThrow(expect.objectContaining({ code: 'not_enough_rows' }));
    expect(() =>
      kmeans.fit(
        frameOf({ c: ['a', 'b', 'c'] }),
        none,
        kmeans.config.parse({ n_clusters: 2 }),
        testContext(),
      ),
    ).toThrow(expect.objectContaining({ code: 'non_numeric_feature' }));
  });

  it('handles duplicate points (more clusters than distinct rows)', async () => {
    const f = frameOf({ x: [1, 1, 1, 2, 2] });
    const p = await kmeans.fit(f, none, kmeans.config.parse({ n_clusters: 3, n_init: 1 }), testContext());
    expect(p.centers).toHaveLength(3);
    expect(p.inertia).toBe(0);
  });
});
