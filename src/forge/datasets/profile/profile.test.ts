import { describe, expect, it } from 'vitest';
import { isMissing, toBoolean, toDatetime, toNumber, toText } from '../values.js';
import { ColumnProfile, quantile, RESERVOIR_SIZE, seededRandom } from './column.js';
import { DatasetProfiler } from './index.js';

const typeOf = (values: unknown[], rows = values.length) => {
  const c = new ColumnProfile('x', 1);
  for (const v of values) c.add(v);
  return c.type(rows);
};
const statsOf = (values: unknown[]) => {
  const c = new ColumnProfile('x', 1);
  for (const v of values) c.add(v);
  return c.stats(values.length);
};

describe('cell values', () => {
  it('missing: absent, null, blank and the usual NA spellings in any case', () => {
    for (const v of [null, undefined, '', '  ', 'NA', 'n/a', 'NaN', 'null', 'NULL', 'None', Number.NaN])
      expect(isMissing(v), String(v)).toBe(true);
    for (const v of ['0', 0, false, 'x', 'nan-ish', [], {}]) expect(isMissing(v), String(v)).toBe(false);
  });
  it('numbers: plain decimals only', () => {
    expect(toNumber('42')).toBe(42);
    expect(toNumber(' -3.5 ')).toBe(-3.5);
    expect(toNumber('+.5e3')).toBe(500);
    expect(toNumber('1.')).toBe(1);
    expect(toNumber(7)).toBe(7);
    for (const v of ['0x10', 'Infinity', '1,000', '1e', '', '--1', true, '1e999', Number.POSITIVE_INFINITY])
      expect(toNumber(v), String(v)).toBeNaN();
  });
  it('booleans: true/false/yes/no/0/1', () => {
    expect(['TRUE', 'yes', '1', true, 1].map(toBoolean)).toEqual([1, 1, 1, 1, 1]);
    expect(['false', 'No', ' 0 ', false, 0].map(toBoolean)).toEqual([0, 0, 0, 0, 0]);
    expect(['y', 't', '2', 2, 'on'].map(toBoolean).every(Number.isNaN)).toBe(true);
  });
  it('datetimes: ISO-8601 dates and times, read as UTC without an offset', () => {
    expect(toDatetime('2024-03-01')).toBe(Date.UTC(2024, 2, 1));
    expect(toDatetime('2024-03-01T12:30')).toBe(Date.UTC(2024, 2, 1, 12, 30));
    expect(toDatetime('2024-03-01 12:30:15.250')).toBe(Date.UTC(2024, 2, 1, 12, 30, 15, 250));
    expect(toDatetime('2024-03-01T12:30:00Z')).toBe(Date.UTC(2024, 2, 1, 12, 30));
    expect(toDatetime('2024-03-01T12:30:00+02:00')).toBe(Date.UTC(2024, 2, 1, 10, 30));
    expect(toDatetime('2024-03-01T12:30:00-0130')).toBe(Date.UTC(2024, 2, 1, 14, 0));
    expect(toDatetime('2024-02-29')).toBe(Date.UTC(2024, 1, 29));
    expect(toDatetime('0050-01-01')).toBe(new Date('0050-01-01T00:00:00Z').getTime());
    for (const v of [
      '2023-02-29',
      '2024-13-01',
      '2024-04-31',
      '2024-01-01T24:00',
      '01/02/2024',
      '2024',
      20240101,
    ])
      expect(toDatetime(v), String(v)).toBeNaN();
  });
  it('text: strings as written, other JSON values in JSON', () => {
    expect([' a ', 3, true, [1, 'x'], { a: null }].map(toText)).toEqual([
      ' a ',
      '3',
      'true',
      '[1,"x"]',
      '{"a":null}',
    ]);
  });
});

describe('type inference', () => {
  it('boolean before numeric: a 0/1 column is a flag', () => {
    expect(typeOf(['0', '1', '1', ''])).toBe('boolean');
    expect(typeOf([true, false, null])).toBe('boolean');
    expect(typeOf(['Yes', 'no', 'TRUE'])).toBe('boolean');
    expect(typeOf([0, 1, 2])).toBe('numeric');
  });
  it('numeric when every present value is a number', () => {
    expect(typeOf(['1.5', '2', 'NA', '-3e2'])).toBe('numeric');
    expect(typeOf([1.5, 2, null])).toBe('numeric');
    expect(typeOf(['1', '2', 'three'])).not.toBe('numeric');
  });
  it('datetime when every present value is an ISO date', () => {
    expect(typeOf(['2024-01-01', '2024-01-02T10:00:00Z', ''])).toBe('datetime');
    expect(typeOf(['2024-01-01', '2024-01-32'])).not.toBe('datetime');
    expect(typeOf(['2024-01-01', '5'])).not.toBe('datetime');
  });
  it('categorical up to max(20, 5% of rows) distinct values, text beyond', () => {
    const colours = Array.from({ length: 100 }, (_, i) => ['red', 'green', 'blue'][i % 3]);
    expect(typeOf(colours)).toBe('categorical');
    const twenty = Array.from({ length: 40 }, (_, i) => `v${i % 20}`);
    expect(typeOf(twenty)).toBe('categorical');
    const twentyOne = Array.from({ length: 42 }, (_, i) => `v${i % 21}`);
    expect(typeOf(twentyOne)).toBe('text');
    // 1000 rows allow 50 distinct values.
    const fifty = Array.from({ length: 1000 }, (_, i) => `v${i % 50}`);
    expect(typeOf(fifty)).toBe('categorical');
    const fiftyOne = Array.from({ length: 1000 }, (_, i) => `v${i % 51}`);
    expect(typeOf(fiftyOne)).toBe('text');
  });
  it('a column with no value at all is text', () => {
    expect(typeOf(['', null, 'NA'])).toBe('text');
  });
});

describe('column statistics', () => {
  it('numeric: count, missing, min, max, mean, sample std and quantiles as computed by hand', () => {
    const s = statsOf(['2', '4', '4', '4', '5', '5', '7', '9', '', 'NA']);
    expect(s).toMatchObject({ type: 'numeric', count: 8, missing: 2, distinct: 5, distinct_exact: true });
    expect(s.min).toBe(2);
    expect(s.max).toBe(9);
    expect(s.mean).toBe(5);
    // Squared deviations sum to 32; 32 / 7 under the root.
    expect(s.std).toBeCloseTo(Math.sqrt(32 / 7), 10);
    // Sorted 2 4 4 4 5 5 7 9: positions (n-1)q = 0.35, 1.75, 3.5, 5.25, 6.65.
    expect(s.quantiles).toEqual({ p5: 2.7, p25: 4, p50: 4.5, p75: 5.5, p95: 8.3 });
    expect(s.quantiles_exact).toBe(true);
  });
  it('numeric with one value has no std', () => {
    expect(statsOf([3]).std).toBeNull();
  });
  it('boolean: true and false counts', () => {
    expect(statsOf(['yes', 'no', 'yes', ''])).toMatchObject({
      type: 'boolean',
      true_count: 2,
      false_count: 1,
      missing: 1,
    });
  });
  it('datetime: min and max as ISO strings', () => {
    const s = statsOf(['2024-05-01', '2023-01-02T03:04:05Z', '2024-01-01T00:00:00+01:00']);
    expect(s).toMatchObject({
      type: 'datetime',
      min: '2023-01-02T03:04:05.000Z',
      max: '2024-05-01T00:00:00.000Z',
    });
  });
  it('categorical: top values by count, then by value; text lengths', () => {
    const s = statsOf(['b', 'a', 'b', 'c', 'a', 'b', null]);
    expect(s.top).toEqual([
      { value: 'b', count: 3 },
      { value: 'a', count: 2 },
      { value: 'c', count: 1 },
    ]);
    expect(s).toMatchObject({
      type: 'categorical',
      min_length: 1,
      max_length: 1,
      mean_length: 1,
      missing: 1,
    });
  });
  it('distinct counts are exact up to the cap, then read "more than N"', () => {
    const c = new ColumnProfile('id', 1);
    for (let i = 0; i < 10_050; i++) c.add(`id-${i}`);
    const s = c.stats(10_050);
    expect(s).toMatchObject({ type: 'text', distinct: 10_000, distinct_exact: false, top_exact: false });
  });
  it('the distinct budget is shared by the columns of a file', () => {
    const budget = { left: 150 };
    const a = new ColumnProfile('a', 1, budget);
    const b = new ColumnProfile('b', 2, budget);
    for (let i = 0; i < 100; i++) a.add(`a${i}`);
    for (let i = 0; i < 100; i++) b.add(`b${i}`);
    expect(a.stats(100)).toMatchObject({ distinct: 100, distinct_exact: true });
    expect(b.stats(100)).toMatchObject({ distinct: 50, distinct_exact: false });
    expect(budget.left).toBe(0);
  });
  it('long values count by prefix and digest: equal texts meet, different ones do not', () => {
    const long = (c: string) => `${'p'.repeat(100)}${c}`;
    const s = statsOf([long('x'), long('x'), long('y')]);
    expect(s.distinct).toBe(2);
    expect(s.top![0]!.count).toBe(2);
    expect(s.top![0]!.value.length).toBeLessThan(100);
  });
  it('quantiles of a long column come from a seeded reservoir: close to the truth and the same every time', () => {
    const values = Array.from({ length: 50_000 }, (_, i) => i);
    const a = statsOf(values.map(String));
    const b = statsOf(values.map(String));
    expect(a.quantiles).toEqual(b.quantiles);
    expect(a.quantiles_exact).toBe(false);
    expect(a.quantiles!.p50).toBeGreaterThan(50_000 * 0.45);
    expect(a.quantiles!.p50).toBeLessThan(50_000 * 0.55);
    expect(a.mean).toBe(24_999.5);
    expect(a.min).toBe(0);
    expect(a.max).toBe(49_999);
    expect(RESERVOIR_SIZE).toBeLessThan(50_000);
  });
  it('the quantile rule and the generator', () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([5], 0.9)).toBe(5);
    const r1 = seededRandom(7);
    const r2 = seededRandom(7);
    const xs = Array.from({ length: 5 }, () => r1());
    expect(xs).toEqual(Array.from({ length: 5 }, () => r2()));
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
  });
});

describe('dataset profile', () => {
  const row = (line: number, o: Record<string, unknown>) => ({ line, cells: Object.entries(o) });
  it('columns in order of first appearance; a key first met later was missing before', () => {
    const p = new DatasetProfiler({ maxRows: 100, maxColumns: 10 });
    p.add(row(1, { a: 1, b: 'x' }));
    p.add(row(2, { a: 2 }));
    p.add(row(3, { c: true, a: 3 }));
    const r = p.finish();
    expect(r.kind).toBe('tabular');
    expect(r.rows).toBe(3);
    expect(r.columns).toEqual([
      { name: 'a', type: 'numeric', missing: 0 },
      { name: 'b', type: 'categorical', missing: 2 },
      { name: 'c', type: 'boolean', missing: 2 },
    ]);
    expect(r.preview).toEqual([{ a: 1, b: 'x' }, { a: 2 }, { c: true, a: 3 }]);
  });
  it('refuses more rows or columns than allowed with 413', () => {
    const p = new DatasetProfiler({ maxRows: 2, maxColumns: 2 });
    p.add(row(1, { a: 1 }));
    expect(() => p.add(row(2, { a: 1, b: 2, c: 3 }))).toThrow(/more than 2 columns \(row 2, line 2;/);
    const q = new DatasetProfiler({ maxRows: 2, maxColumns: 5 });
    q.add(row(1, { a: 1 }));
    q.add(row(2, { a: 1 }));
    try {
      q.add(row(3, { a: 1 }));
      expect.unreachable();
    } catch (err) {
      expect((err as { status: number; code: string }).status).toBe(413);
      expect((err as { code: string }).code).toBe('dataset_too_large');
    }
  });
  it('recognises chat data and counts conversations, turns and roles', () => {
    const p = new DatasetProfiler({ maxRows: 100, maxColumns: 10 });
    p.add(
      row(1, {
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Hi' },
          { role: 'assistant', content: 'Hello!' },
        ],
      }),
    );
    p.add(
      row(2, {
        messages: [
          { role: 'user', content: 'Why?' },
          { role: 'assistant', content: 'Because.' },
        ],
      }),
    );
    const r = p.finish();
    expect(r.kind).toBe('chat');
    expect(r.stats.chat).toEqual({
      conversations: 2,
      turns: { total: 5, min: 2, max: 3, mean: 2.5 },
      roles: { system: 1, user: 2, assistant: 2 },
      with_system: 1,
      ending_with_assistant: 2,
      content_chars: { total: 9 + 2 + 6 + 4 + 8, max: 9 },
    });
  });
  it('one row that is not a conversation makes the dataset tabular', () => {
    const p = new DatasetProfiler({ maxRows: 100, maxColumns: 10 });
    p.add(row(1, { messages: [{ role: 'user', content: 'Hi' }] }));
    p.add(row(2, { messages: [{ role: 'user', content: 3 }] }));
    expect(p.finish().kind).toBe('tabular');
    const q = new DatasetProfiler({ maxRows: 100, maxColumns: 10 });
    q.add(row(1, { messages: [] }));
    expect(q.finish().kind).toBe('tabular');
  });
  it('a wide file keeps fewer preview rows, never none', () => {
    const p = new DatasetProfiler({ maxRows: 100, maxColumns: 2000 });
    // About 310,000 characters of JSON per row: three rows fit in the 1 MiB budget, a fourth does not.
    const wide = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`c${i}`, 'v'.repeat(300)]));
    for (let i = 0; i < 10; i++) p.add(row(i + 1, wide));
    expect(p.finish().preview).toHaveLength(3);
    // A single row over the budget is still shown.
    const q = new DatasetProfiler({ maxRows: 100, maxColumns: 5000 });
    const huge = Object.fromEntries(Array.from({ length: 4000 }, (_, i) => [`c${i}`, 'v'.repeat(300)]));
    q.add(row(1, huge));
    q.add(row(2, huge));
    expect(q.finish().preview).toHaveLength(1);
  });
  it('cuts long values in the preview', () => {
    const p = new DatasetProfiler({ maxRows: 100, maxColumns: 10 });
    p.add(row(1, { t: 'x'.repeat(5000), o: { long: 'y'.repeat(5000) } }));
    const [first] = p.finish().preview;
    expect((first!.t as string).length).toBe(1001);
    expect(typeof first!.o).toBe('string');
  });
});
