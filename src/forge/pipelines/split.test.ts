import { describe, expect, it } from 'vitest';
import { trainTestSplit } from './split.js';

const sorted = (a: Uint32Array) => Array.from(a);

describe('train_test_split', () => {
  it('holds out ceil(test_size·n) rows; the parts cover every row once', () => {
    const s = trainTestSplit(10, { test_size: 0.25, seed: 1 });
    expect(s.test).toHaveLength(3);
    expect(s.train).toHaveLength(7);
    expect([...sorted(s.train), ...sorted(s.test)].sort((a, b) => a - b)).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
    ]);
    expect(sorted(s.train)).toEqual([...sorted(s.train)].sort((a, b) => a - b));
  });

  it('same seed, same split; another seed, another split', () => {
    const a = trainTestSplit(100, { test_size: 0.2, seed: 7 });
    expect(trainTestSplit(100, { test_size: 0.2, seed: 7 })).toEqual(a);
    expect(sorted(trainTestSplit(100, { test_size: 0.2, seed: 8 }).test)).not.toEqual(sorted(a.test));
  });

  it('stratified: each class keeps its share in the test part', () => {
    const classes = Float64Array.from({ length: 100 }, (_, i) => (i < 80 ? 0 : i < 95 ? 1 : 2));
    const s = trainTestSplit(100, { test_size: 0.2, seed: 3, classes });
    expect(s.stratified).toBe(true);
    const count = (c: number) => Array.from(s.test).filter((i) => classes[i] === c).length;
    expect([count(0), count(1), count(2)]).toEqual([16, 3, 1]);
  });

  it('falls back to a plain split when a class has a single row', () => {
    const classes = Float64Array.from([0, 0, 0, 0, 1]);
    const s = trainTestSplit(5, { test_size: 0.4, seed: 1, classes });
    expect(s.stratified).toBe(false);
    expect(s.test).toHaveLength(2);
  });

  it('test_size 0 keeps every row for training; too few rows is refused', () => {
    expect(trainTestSplit(3, { test_size: 0, seed: 1 }).train).toHaveLength(3);
    expect(() => trainTestSplit(1, { test_size: 0.2, seed: 1 })).toThrow(
      expect.objectContaining({ code: 'not_enough_rows' }),
    );
  });
});
