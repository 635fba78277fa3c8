import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkSpace,
  type Dimension,
  expandGrid,
  gridSize,
  type SearchSpace,
  sampleDimension,
  sampleSpace,
  searchSpace,
} from './space.js';

const space = (s: unknown) => searchSpace.parse(s);

describe('grid expansion', () => {
  it('tries every combination, the last field varying fastest', () => {
    const s = space({
      'steps.1.config.C': { values: [0.1, 1] },
      'steps.1.config.max_iter': { int: [10, 12] },
    });
    expect(gridSize(s)).toBe(6);
    expect(expandGrid(s)).toEqual([
      { 'steps.1.config.C': 0.1, 'steps.1.config.max_iter': 10 },
      { 'steps.1.config.C': 0.1, 'steps.1.config.max_iter': 11 },
      { 'steps.1.config.C': 0.1, 'steps.1.config.max_iter': 12 },
      { 'steps.1.config.C': 1, 'steps.1.config.max_iter': 10 },
      { 'steps.1.config.C': 1, 'steps.1.config.max_iter': 11 },
      { 'steps.1.config.C': 1, 'steps.1.config.max_iter': 12 },
    ]);
  });

  it('keeps values of any JSON scalar type, null included', () => {
    const s = space({ 'steps.0.config.class_weight': { values: [null, 'balanced'] } });
    expect(expandGrid(s)).toEqual([
      { 'steps.0.config.class_weight': null },
      { 'steps.0.config.class_weight': 'balanced' },
    ]);
  });

  it('has no grid over a float range', () => {
    const s = space({ 'steps.0.config.C': { values: [1, 2] }, 'steps.0.config.tol': { float: [0.1, 0.2] } });
    expect(gridSize(s)).toBe(Number.POSITIVE_INFINITY);
    expect(() => expandGrid(s)).toThrow(/float range/);
  });

  it('sizes without expanding a huge grid', () => {
    const s = space({ 'steps.0.config.a': { int: [1, 1000] }, 'steps.0.config.b': { int: [1, 1000] } });
    expect(gridSize(s)).toBe(1_000_000);
  });

  it('size always equals the number of combinations (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.integer({ min: 1, max: 4 }).map((n) => ({ values: Array.from({ length: n }, (_, i) => i) })),
            fc.integer({ min: 0, max: 3 }).map((w) => ({ int: [5, 5 + w] })),
          ),
          { minLength: 1, maxLength: 4 },
        ),
        (dims) => {
          const s = space(Object.fromEntries(dims.map((d, i) => [`steps.0.config.f${i}`, d])));
          const grid = expandGrid(s);
          expect(grid.length).toBe(gridSize(s));
          expect(new Set(grid.map((g) => JSON.stringify(g))).size).toBe(grid.length);
        },
      ),
    );
  });
});

describe('random sampling', () => {
  const s: SearchSpace = space({
    'steps.1.config.C': { float: [1e-4, 1e-1], log: true },
    'steps.1.config.max_iter': { int: [3, 8] },
    'steps.1.config.class_weight': { values: [null, 'balanced'] },
  });

  it('draws the same trials from the same seed, and other trials from another', () => {
    const a = sampleSpace(s, 20, 7);
    expect(sampleSpace(s, 20, 7)).toEqual(a);
    expect(sampleSpace(s, 20, 8)).not.toEqual(a);
    // A longer draw starts with the shorter one: n_trials does not reshuffle earlier trials.
    expect(sampleSpace(s, 25, 7).slice(0, 20)).toEqual(a);
  });

  it('stays inside every range, integers as integers', () => {
    for (const t of sampleSpace(s, 500, 3)) {
      const c = t['steps.1.config.C'] as number;
      const it = t['steps.1.config.max_iter'] as number;
      expect(c).toBeGreaterThanOrEqual(1e-4);
      expect(c).toBeLessThanOrEqual(1e-1);
      expect(Number.isInteger(it)).toBe(true);
      expect(it).toBeGreaterThanOrEqual(3);
      expect(it).toBeLessThanOrEqual(8);
      expect([null, 'balanced']).toContain(t['steps.1.config.class_weight']);
    }
  });

  it('covers every integer and every value of a small range', () => {
    const drawn = sampleSpace(s, 400, 11);
    expect(new Set(drawn.map((t) => t['steps.1.config.max_iter']))).toEqual(new Set([3, 4, 5, 6, 7, 8]));
    expect(new Set(drawn.map((t) => t['steps.1.config.class_weight']))).toEqual(new Set([null, 'balanced']));
  });
});

describe('log-uniform ranges', () => {
  const logC: Dimension = { float: [1e-4, 1e-1], log: true };

  it('maps the unit interval onto the decades evenly', () => {
    expect(sampleDimension(logC, 0)).toBeCloseTo(1e-4, 12);
    expect(sampleDimension(logC, 1 / 3)).toBeCloseTo(1e-3, 12);
    expect(sampleDimension(logC, 2 / 3)).toBeCloseTo(1e-2, 12);
    expect(sampleDimension(logC, 0.999999999)).toBeLessThanOrEqual(1e-1);
  });

  it('puts about a third of draws in each decade, where a linear range would put almost none below 1e-2', () => {
    const draws = sampleSpace({ x: logC }, 3000, 5).map((t) => t.x as number);
    const share = (lo: number, hi: number) => draws.filter((v) => v >= lo && v < hi).length / draws.length;
    for (const [lo, hi] of [
      [1e-4, 1e-3],
      [1e-3, 1e-2],
      [1e-2, 1e-1],
    ] as const)
      expect(share(lo, hi)).toBeGreaterThan(0.29);
    const linear = sampleSpace({ x: { float: [1e-4, 1e-1], log: false } }, 3000, 5).map((t) => t.x as number);
    expect(linear.filter((v) => v < 1e-2).length / linear.length).toBeLessThan(0.12);
  });

  it('draws log-uniform integers within bounds, small ones more often', () => {
    const d: Dimension = { int: [1, 1000], log: true };
    const draws = Array.from({ length: 2000 }, (_, i) => sampleDimension(d, i / 2000) as number);
    expect(Math.min(...draws)).toBe(1);
    expect(Math.max(...draws)).toBeLessThanOrEqual(1000);
    expect(draws.every(Number.isInteger)).toBe(true);
    expect(draws.filter((v) => v < 32).length).toBeGreaterThan(draws.filter((v) => v >= 500).length);
  });
});

describe('space validation', () => {
  it('accepts step config fields of steps the spec has', () => {
    expect(
      checkSpace(
        space({ 'steps.1.config.C': { values: [1] }, 'steps.0.config.a.b': { int: [1, 2] } }),
        2,
        'p',
      ),
    ).toEqual([]);
  });

  it('names each bad field at its path', () => {
    const errors = checkSpace(
      space({
        'steps.3.config.max_depth': { int: [3, 8] },
        'evaluation.seed': { values: [1] },
        'steps.0.config.C': { float: [1, 1] },
        'steps.0.config.tol': { float: [0, 1], log: true },
        'steps.0.config.n': { int: [9, 3] },
        'steps.0.config.k': { int: [0, 3], log: true },
      }),
      2,
      'body.search.space',
    );
    expect(errors).toEqual([
      {
        path: 'body.search.space.steps.3.config.max_depth',
        message: expect.stringMatching(/no step 3.*2 step/),
      },
      { path: 'body.search.space.evaluation.seed', message: expect.stringMatching(/steps.<index>.config/) },
      { path: 'body.search.space.steps.0.config.C', message: expect.stringMatching(/empty/) },
      { path: 'body.search.space.steps.0.config.tol', message: expect.stringMatching(/log range/) },
      { path: 'body.search.space.steps.0.config.n', message: expect.stringMatching(/empty/) },
      { path: 'body.search.space.steps.0.config.k', message: expect.stringMatching(/log range/) },
    ]);
  });

  it('refuses malformed dimensions and empty spaces at parse', () => {
    expect(searchSpace.safeParse({}).success).toBe(false);
    expect(searchSpace.safeParse({ 'steps.0.config.a': { values: [] } }).success).toBe(false);
    expect(searchSpace.safeParse({ 'steps.0.config.a': { int: [1.5, 3] } }).success).toBe(false);
    expect(searchSpace.safeParse({ 'steps.0.config.a': { float: [1, 2], step: 1 } }).success).toBe(false);
    expect(searchSpace.safeParse({ 'steps.0.config.a': { values: [{ nested: 1 }] } }).success).toBe(false);
  });
});
