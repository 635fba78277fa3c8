import { describe, expect, it } from 'vitest';
import type { AppError } from '../../../platform/errors.js';
import { DatasetMalformedError } from '../errors.js';
import { columnNames, sniffDelimiter } from './csv.js';
import { detectFormat, readRows } from './index.js';
import type { ParsedRow } from './types.js';

/** The text in chunks of `size` bytes, so every boundary case (inside a quote, a UTF-8 character) occurs. */
async function* chunked(text: string | Buffer, size: number): AsyncGenerator<Buffer> {
  const buf = Buffer.isBuffer(text) ? text : Buffer.from(text);
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

async function rows(format: 'csv' | 'json' | 'jsonl', text: string, size = 5): Promise<ParsedRow[]> {
  const out: ParsedRow[] = [];
  for await (const r of readRows(format, chunked(text, size))) out.push(r);
  return out;
}

async function failure(format: 'csv' | 'json' | 'jsonl', text: string, size = 5): Promise<AppError> {
  try {
    await rows(format, text, size);
  } catch (err) {
    return err as AppError;
  }
  throw new Error('expected the file to be refused');
}

const objects = (rs: ParsedRow[]) => rs.map((r) => Object.fromEntries(r.cells));

describe('format detection by content', () => {
  const detect = (s: string | number[]) =>
    detectFormat(typeof s === 'string' ? Buffer.from(s) : Buffer.from(s));
  it('recognises JSON arrays, JSON Lines and CSV whatever the name', () => {
    expect(detect('[{"a":1}]')).toBe('json');
    expect(detect('  \n[\n  {"a":1}]')).toBe('json');
    expect(detect('[]')).toBe('json');
    expect(detect('{"a":1}\n{"a":2}\n')).toBe('jsonl');
    expect(detect('\ufeff{"a":1}')).toBe('jsonl');
    expect(detect('a,b\n1,2\n')).toBe('csv');
    // A CSV whose first cell starts with a bracket is still CSV.
    expect(detect('[tag],value\nx,1\n')).toBe('csv');
  });
  it('refuses binary content and empty files', () => {
    expect(() => detect([0x50, 0x4b, 0x03, 0x04, 1, 2])).toThrow(/ZIP/);
    expect(() => detect([0x1f, 0x8b, 8, 0])).toThrow(/gzip/);
    expect(() => detect('a,b\n1,\u0000\n')).toThrow(/binary/);
    expect(() => detect([0x61, 0x2c, 0xff, 0xfe, 0x0a])).toThrow(/UTF-8/);
    try {
      detect('  \n ');
      expect.unreachable();
    } catch (err) {
      expect((err as AppError).code).toBe('dataset_empty');
    }
  });
  it('accepts a head cut inside a UTF-8 character', () => {
    const head = Buffer.from('name\nZoë\n').subarray(0, 8);
    expect(detectFormat(head)).toBe('csv');
  });
});

describe('CSV', () => {
  it('reads a header and rows, quotes, escaped quotes, embedded newlines, CRLF and a BOM', async () => {
    const text = '\ufeffid,name,note\r\n1,"Smith, J","said ""hi"""\r\n2,Zoë,"two\nlines"\r\n\r\n3,,\r\n';
    for (const size of [1, 3, 7, 1000]) {
      const rs = await rows('csv', text, size);
      expect(objects(rs)).toEqual([
        { id: '1', name: 'Smith, J', note: 'said "hi"' },
        { id: '2', name: 'Zoë', note: 'two\nlines' },
        { id: '3', name: '', note: '' },
      ]);
    }
  });
  it('finds semicolon, tab and pipe delimiters from the header line', async () => {
    expect(sniffDelimiter('a;b;c\n1;2;3')).toBe(';');
    expect(sniffDelimiter('a\tb\n')).toBe('\t');
    expect(sniffDelimiter('a|b\n')).toBe('|');
    expect(sniffDelimiter('"x,y";b;c\n')).toBe(';');
    expect(sniffDelimiter('single\n1\n')).toBe(',');
    expect(objects(await rows('csv', 'a;b\n1,5;2\n'))).toEqual([{ a: '1,5', b: '2' }]);
  });
  it('names blank headers by position and makes repeated ones unique', () => {
    expect(columnNames(['a', '', 'a', 'A', ' b '])).toEqual(['a', 'column_2', 'a_2', 'A_3', 'b']);
  });
  it('a ragged row names its line, row and the missing or extra column', async () => {
    const short = await failure('csv', 'a,b,c\n1,2,3\n4,5\n');
    expect(short).toBeInstanceOf(DatasetMalformedError);
    expect(short.code).toBe('dataset_malformed');
    expect(short.message).toBe("line 3, row 2: 2 fields where the header has 3; column 'c' is missing");
    const long = await failure('csv', 'a,b\n1,2\n3,4\n5,6,7\n');
    expect(long.message).toMatch(/^line 4, row 3: 3 fields where the header has 2/);
    expect(long.message).toContain("after column 'b'");
  });
  it('an unterminated quote names the row and column where the field opened', async () => {
    const err = await failure('csv', 'a,b\n1,2\n3,"open\n4,5\n6,7\n');
    expect(err.code).toBe('dataset_malformed');
    expect(err.message).toBe("row 2, column 'b': a quoted field is never closed (the file ends at line 5)");
  });
  it("errors name the header's columns even before any row was read", async () => {
    // One chunk: csv-parse fails on the third record before the header reaches the consumer.
    const err = await failure('csv', 'a,b,c\n1,2,3\n4,5\n', 1000);
    expect(err.message).toBe("line 3, row 2: 2 fields where the header has 3; column 'c' is missing");
    const quote = await failure('csv', 'a,b\n1,x"y\n', 1000);
    expect(quote.message).toMatch(/^line 2, row 1, column 'b'/);
  });
  it('a stray quote names line and column', async () => {
    const err = await failure('csv', 'a,b\n1,x"y\n');
    expect(err.message).toMatch(/^line 2, row 1, column 'b': a quote inside a field must be doubled/);
    const closing = await failure('csv', 'a,b\n1,"x"y\n');
    expect(closing.message).toMatch(/^line 2, row 1, column 'b'/);
  });
});

describe('JSON array', () => {
  it('reads objects element by element across any chunking', async () => {
    const text = '[\n {"a": 1, "b": "x"},\n {"a": null, "c": [1, {"d": true}]},\n {"b": "Zoë \\u00e9"}\n]\n';
    for (const size of [1, 2, 9, 1000]) {
      const rs = await rows('json', text, size);
      expect(objects(rs)).toEqual([{ a: 1, b: 'x' }, { a: null, c: [1, { d: true }] }, { b: 'Zoë é' }]);
      expect(rs.map((r) => r.line)).toEqual([2, 3, 4]);
    }
  });
  it('an empty array has no rows', async () => {
    expect(await rows('json', '[ ]')).toEqual([]);
  });
  it('a syntax error names its line and column', async () => {
    const missingComma = await failure('json', '[\n  {"a": 1}\n  {"a": 2}\n]', 3);
    expect(missingComma.code).toBe('dataset_malformed');
    expect(missingComma.message).toBe("line 3, column 3: JSON syntax error: unexpected '{'");
    const badChar = await failure('json', '[{"a": 1},\n {"a": tru}]');
    expect(badChar.message).toMatch(/^line 2, column 11: JSON syntax error: unexpected "}"/);
    const trailingComma = await failure('json', '[{"a": 1},]');
    expect(trailingComma.message).toBe("line 1, column 11: JSON syntax error: unexpected ']'");
  });
  it('columns count characters, not bytes', async () => {
    const err = await failure('json', '[{"é": 1 2}]', 1);
    expect(err.message).toMatch(/^line 1, column 10: /);
  });
  it('an element that is not an object names its position', async () => {
    const err = await failure('json', '[{"a": 1},\n 5]');
    expect(err.message).toBe('line 2, row 2: array element 2 is a number, not an object');
    const root = await failure('json', '{"a": 1}');
    expect(root.message).toMatch(/must be an array of objects/);
  });
  it('a file that ends early or has trailing content is refused', async () => {
    expect((await failure('json', '[{"a": 1},\n{"a": 2}')).message).toMatch(
      /line 2, column \d+: JSON syntax error: the file ends before the array is closed/,
    );
    expect((await failure('json', '[{"a": "unterminated')).message).toMatch(/JSON syntax error/);
    expect((await failure('json', '[{"a": 1}] [')).message).toMatch(/line 1, column 12: JSON syntax error/);
  });
});

describe('JSON Lines', () => {
  it('reads one object per line, skipping blank lines, with CRLF and a character split across chunks', async () => {
    const text = '{"a": 1}\r\n\n{"a": 2, "s": "Zoë"}\n  \n{"b": [1]}';
    for (const size of [1, 4, 1000]) {
      const rs = await rows('jsonl', text, size);
      expect(objects(rs)).toEqual([{ a: 1 }, { a: 2, s: 'Zoë' }, { b: [1] }]);
      expect(rs.map((r) => r.line)).toEqual([1, 3, 5]);
    }
  });
  it('a line that is not an object, or not JSON, names the line', async () => {
    expect((await failure('jsonl', '{"a": 1}\n[1, 2]\n')).message).toBe(
      'line 2: the line holds an array, not a JSON object',
    );
    expect((await failure('jsonl', '{"a": 1}\n{"a": 2}\n"x"\n')).message).toBe(
      'line 3: the line holds a string, not a JSON object',
    );
    const syntax = await failure('jsonl', '{"a": 1}\n{"a": }\n');
    expect(syntax.message).toMatch(/^line 2, column 7: invalid JSON/);
  });
});
