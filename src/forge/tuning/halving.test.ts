import { describe, expect, it } from 'vitest';
import { bestTrial, halvingSchedule, promote, ranked } from './halving.js';

describe('successive halving schedule', () => {
  it('keeps a third each rung and triples the budget, the last rung at max_budget', () => {
    expect(halvingSchedule(9, 3, 10, 90)).toEqual([
      { configs: 9, budget: 10 },
      { configs: 3, budget: 30 },
      { configs: 1, budget: 90 },
    ]);
  });

  it('rounds configurations up, down to one', () => {
    expect(halvingSchedule(10, 3, 1, 1000).map((r) => r.configs)).toEqual([10, 4, 2, 1]);
    expect(halvingSchedule(10, 3, 1, 1000).map((r) => r.budget)).toEqual([37, 111, 333, 1000]);
  });

  it('has as many rungs as the budget range allows when it is the tighter bound', () => {
    // 27 configurations could halve 3 times, but 20..200 holds only 2 triplings (20, 60, 180 ≤ 200).
    expect(halvingSchedule(27, 3, 20, 200)).toEqual([
      { configs: 27, budget: 22 },
      { configs: 9, budget: 67 },
      { configs: 3, budget: 200 },
    ]);
  });

  it('halves with eta 2', () => {
    expect(halvingSchedule(8, 2, 5, 40)).toEqual([
      { configs: 8, budget: 5 },
      { configs: 4, budget: 10 },
      { configs: 2, budget: 20 },
      { configs: 1, budget: 40 },
    ]);
  });

  it('is a single rung (no halving) when the range or the configurations are too small', () => {
    expect(halvingSchedule(9, 3, 10, 20)).toHaveLength(1);
    expect(halvingSchedule(1, 3, 1, 100)).toHaveLength(1);
    expect(halvingSchedule(0, 3, 1, 100)).toEqual([]);
  });

  it('never lowers the budget nor raises the configurations from one rung to the next', () => {
    for (const n of [2, 3, 5, 9, 17, 50])
      for (const eta of [2, 3, 4])
        for (const [lo, hi] of [
          [1, 10],
          [5, 500],
          [3, 7],
        ] as const) {
          const rungs = halvingSchedule(n, eta, lo, hi);
          expect(rungs[0]?.configs).toBe(n);
          for (let i = 1; i < rungs.length; i++) {
            expect(rungs[i]!.budget!).toBeGreaterThan(rungs[i - 1]!.budget!);
            expect(rungs[i]!.configs).toBeLessThan(rungs[i - 1]!.configs);
          }
          if (rungs.length > 0) expect(rungs.at(-1)?.budget).toBe(hi);
          for (const r of rungs) expect(r.budget).toBeGreaterThanOrEqual(lo);
        }
  });
});

const t = (number: number, metric: number | null, state = 'succeeded', rung = 0) => ({
  number,
  metric,
  state,
  rung,
});

describe('ranking and promotion', () => {
  it('ranks succeeded trials by the metric, ties to the earlier trial', () => {
    const trials = [t(1, 0.8), t(2, 0.9), t(3, 0.9), t(4, null), t(5, 0.99, 'failed')];
    expect(ranked(trials, 'maximize').map((x) => x.number)).toEqual([2, 3, 1]);
    expect(ranked(trials, 'minimize').map((x) => x.number)).toEqual([1, 2, 3]);
  });

  it('promotes the best k, or fewer when fewer succeeded', () => {
    expect(promote([t(1, 0.5), t(2, 0.7), t(3, 0.6)], 2, 'maximize').map((x) => x.number)).toEqual([2, 3]);
    expect(promote([t(1, 0.5), t(2, null, 'failed')], 2, 'maximize').map((x) => x.number)).toEqual([1]);
  });

  it('picks the best trial of the highest rung that has one', () => {
    const trials = [
      t(1, 0.99, 'succeeded', 0),
      t(2, 0.7, 'succeeded', 1),
      t(3, 0.8, 'succeeded', 1),
      t(4, null, 'failed', 2),
    ];
    expect(bestTrial(trials, 'maximize')?.number).toBe(3);
    expect(bestTrial([t(1, null, 'failed')], 'maximize')).toBeNull();
  });
});
