import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { NumericColumn, StringColumn } from '../frame/frame.js';
import { readFrame } from './frame-reader.js';
import type { SchemaColumn } from './tables.js';

const dir = mkdtempSync(join(tmpdir(), 'polar-frame-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const schema: SchemaColumn[] = [
  { name: 'x', type: 'numeric', missing: 1 },
  { name: 'flag', type: 'boolean', missing: 1 },
  { name: 'at', type: 'datetime', missing: 1 },
  { name: 'colour', type: 'categorical', missing: 1 },
  { name: 'note', type: 'text', missing: 1 },
];
const num = (c: unknown) => Array.from((c as NumericColumn).values);
const str = (c: unknown) => (c as StringColumn).values;

describe('readFrame', () => {
  it('types columns by the stored schema, NaN and null where values are missing (CSV)', async () => {
    const p = file(
      'a.csv',
      'x,flag,at,colour,note\n1.5,yes,2024-01-02,red,hello\n,no,,NA,\n-2,,2024-01-02T00:00:00+01:00,blue,"a,b"\n',
    );
    const f = await readFrame(p, 'csv', schema);
    expect(f.length).toBe(3);
    expect(f.columns.map((c) => [c.name, c.type])).toEqual(schema.map((c) => [c.name, c.type]));
    expect(num(f.columns[0])).toEqual([1.5, Number.NaN, -2]);
    expect(num(f.columns[1])).toEqual([1, 0, Number.NaN]);
    expect(num(f.columns[2])).toEqual([Date.UTC(2024, 0, 2), Number.NaN, Date.UTC(2024, 0, 1, 23)]);
    expect(str(f.columns[3])).toEqual(['red', null, 'blue']);
    expect(str(f.columns[4])).toEqual(['hello', null, 'a,b']);
    expect(f.columns[0]!.values).toBeInstanceOf(Float64Array);
  });
  it('reads JSON and JSON Lines the same way; absent keys are missing, nested values are text', async () => {
    const rows = [
      { x: 1, flag: true, colour: 'red', note: { k: [1] } },
      { x: '2', flag: 0, at: '2024-05-05', extra: 'ignored' },
    ];
    for (const [name, text, format] of [
      ['b.json', JSON.stringify(rows), 'json'],
      ['b.jsonl', rows.map((r) => JSON.stringify(r)).join('\n'), 'jsonl'],
    ] as const) {
      const f = await readFrame(file(name, text), format, { columns: schema });
      expect(f.length).toBe(2);
      expect(num(f.columns[0])).toEqual([1, 2]);
      expect(num(f.columns[1])).toEqual([1, 0]);
      expect(num(f.columns[2])).toEqual([Number.NaN, Date.UTC(2024, 4, 5)]);
      expect(str(f.columns[3])).toEqual(['red', null]);
      expect(str(f.columns[4])).toEqual(['{"k":[1]}', null]);
      expect(f.columns.map((c) => c.name)).not.toContain('extra');
    }
  });
  it('grows past its initial capacity and keeps row order', async () => {
    const n = 5000;
    const text = `x,note\n${Array.from({ length: n }, (_, i) => `${i},r${i}`).join('\n')}\n`;
    const f = await readFrame(file('c.csv', text), 'csv', [
      { name: 'x', type: 'numeric', missing: 0 },
      { name: 'note', type: 'text', missing: 0 },
    ]);
    expect(f.length).toBe(n);
    const xs = (f.columns[0] as NumericColumn).values;
    expect(xs.length).toBe(n);
    expect(xs[0]).toBe(0);
    expect(xs[n - 1]).toBe(n - 1);
    expect(str(f.columns[1])[n - 1]).toBe(`r${n - 1}`);
    expect(str(f.columns[1]).length).toBe(n);
  });
});
