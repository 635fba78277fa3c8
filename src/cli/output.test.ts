import { describe, expect, it } from 'vitest';
import { bytes, fields, table, time, tree } from './output.js';

describe('table', () => {
  const rows = [
    { id: 'a1', name: 'short' },
    { id: 'b22', name: 'x'.repeat(100) },
  ];
  const columns = [
    { header: 'id', value: (r: (typeof rows)[number]) => r.id },
    { header: 'name', value: (r: (typeof rows)[number]) => r.name },
  ];

  it('aligns columns under upper-case headers and cuts long cells', () => {
    const lines = table(rows, columns).split('\n');
    expect(lines[0]).toBe('ID   NAME');
    expect(lines[1]).toBe('a1   short');
    expect(lines[2]).toBe(`b22  ${'x'.repeat(59)}…`);
  });

  it('says so when there is nothing', () => {
    expect(table([], columns)).toBe('(none)');
  });

  it('keeps each row on one line', () => {
    expect(table([{ id: 'a', name: 'two\nlines' }], columns).split('\n')).toHaveLength(2);
  });
});

describe('formatting', () => {
  it('aligns fields', () => {
    expect(
      fields([
        ['id', '1'],
        ['username', 'bob'],
      ]),
    ).toBe('id:        1\nusername:  bob');
  });

  it('renders any JSON as indented lines', () => {
    expect(tree({ status: 'ok', checks: { db: { ms: 2 } }, tags: ['a', 'b'], none: null, empty: [] })).toBe(
      'status: ok\nchecks:\n  db:\n    ms: 2\ntags: a, b\nnone: -\nempty: []',
    );
  });

  it('prints times in UTC and sizes in binary units', () => {
    expect(time('2026-01-02T03:04:05.678Z')).toBe('2026-01-02 03:04:05Z');
    expect(time(null)).toBe('-');
    expect(bytes(512)).toBe('512 B');
    expect(bytes(1536)).toBe('1.5 KB');
    expect(bytes(5 * 1024 ** 3)).toBe('5.0 GB');
    expect(bytes(undefined)).toBe('-');
  });
});
