import { describe, expect, it } from 'vitest';
import { csvCell, exportRows } from './export.js';
import { readRows } from './formats/index.js';
import type { SchemaColumn } from './tables.js';

async function* bytes(s: string) {
  yield Buffer.from(s);
}
const collect = async (it: AsyncIterable<string>) => {
  let s = '';
  for await (const x of it) s += x;
  return s;
};

describe('CSV cells', () => {
  it('prefixes formula-leading text with a single quote', () => {
    expect(csvCell('=SUM(A1:A2)')).toBe("'=SUM(A1:A2)");
    expect(csvCell('+1 555')).toBe("'+1 555");
    expect(csvCell('-x')).toBe("'-x");
    expect(csvCell('@cmd')).toBe("'@cmd");
    expect(csvCell('\tindent')).toBe("'\tindent");
    expect(csvCell('\rx')).toBe('"\'\rx"');
    expect(csvCell('=HYPERLINK("http://x","y")')).toBe('"\'=HYPERLINK(""http://x"",""y"")"');
    expect(csvCell('a=b')).toBe('a=b');
    expect(csvCell('plain')).toBe('plain');
  });
  it('leaves plain numbers of numeric columns alone, but not look-alikes', () => {
    expect(csvCell('-3.5', true)).toBe('-3.5');
    expect(csvCell('+2', true)).toBe('+2');
    expect(csvCell('-3.5')).toBe("'-3.5");
    expect(csvCell('-1+cmd|x', true)).toBe("'-1+cmd|x");
  });
  it('quotes cells holding the delimiter, quotes or line breaks', () => {
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "x"')).toBe('"say ""x"""');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
  });
});

describe('export', () => {
  const columns: SchemaColumn[] = [
    { name: 'n', type: 'numeric', missing: 1 },
    { name: 'ok', type: 'boolean', missing: 0 },
    { name: 'note', type: 'text', missing: 0 },
  ];
  const csv = 'n;ok;note\n-1;yes;=1+1\n;no;"a;b"\n';

  it('CSV in schema order with escaped cells, from any source format', async () => {
    const out = await collect(exportRows(readRows('csv', bytes(csv)), columns, 'csv', 'csv'));
    expect(out).toBe("n,ok,note\r\n-1,yes,'=1+1\r\n,no,a;b\r\n");
    const json = '[{"note": "@x", "n": 2.5, "ok": true}, {"n": null, "ok": false, "note": {"k": 1}}]';
    const fromJson = await collect(exportRows(readRows('json', bytes(json)), columns, 'json', 'csv'));
    expect(fromJson).toBe('n,ok,note\r\n2.5,true,\'@x\r\n,false,"{""k"":1}"\r\n');
  });
  it('JSON Lines: CSV text typed by the schema, JSON values kept', async () => {
    const out = await collect(exportRows(readRows('csv', bytes(csv)), columns, 'csv', 'jsonl'));
    expect(
      out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual([
      { n: -1, ok: true, note: '=1+1' },
      { n: null, ok: false, note: 'a;b' },
    ]);
    const jsonl = '{"n": 1, "ok": 1, "note": [1, 2]}\n{"ok": 0}\n';
    const back = await collect(exportRows(readRows('jsonl', bytes(jsonl)), columns, 'jsonl', 'jsonl'));
    expect(back).toBe('{"n":1,"ok":1,"note":[1,2]}\n{"n":null,"ok":0,"note":null}\n');
  });
  it('a column named __proto__ is an ordinary key', async () => {
    const cols: SchemaColumn[] = [{ name: '__proto__', type: 'text', missing: 0 }];
    const out = await collect(exportRows(readRows('csv', bytes('__proto__\nx\n')), cols, 'csv', 'jsonl'));
    expect(JSON.parse(out.trim())).toEqual(JSON.parse('{"__proto__":"x"}'));
  });
});
