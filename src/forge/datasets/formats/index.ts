import type { DatasetFormat } from '../tables.js';
import { parseCsv, sniffDelimiter } from './csv.js';
import { SNIFF_BYTES } from './detect.js';
import { parseJsonArray } from './json.js';
import { parseJsonl } from './jsonl.js';
import { DEFAULT_PARSE_LIMITS, type ParsedRow, type ParseLimits, type RowSource } from './types.js';

export { detectFormat, SNIFF_BYTES } from './detect.js';
export type { ParsedRow, ParseLimits, RowSource } from './types.js';

/** Reads about the first `n` bytes as `head`; `all` then yields every byte of the stream, head first. */
export async function peek(source: AsyncIterable<Buffer | Uint8Array>, n: number) {
  const it = source[Symbol.asyncIterator]();
  const chunks: Buffer[] = [];
  let got = 0;
  let done = false;
  while (got < n) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    const buf = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
    chunks.push(buf);
    got += buf.length;
  }
  async function* all(): AsyncGenerator<Buffer> {
    yield* chunks;
    if (done) return;
    for (let r = await it.next(); !r.done; r = await it.next())
      yield Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
  }
  return { head: Buffer.concat(chunks), all: all() };
}

/** The rows of a stored file whose format is known (a version's file, read back). */
export async function* readRows(
  format: DatasetFormat,
  source: AsyncIterable<Buffer | Uint8Array>,
  limits: ParseLimits = DEFAULT_PARSE_LIMITS,
): AsyncGenerator<ParsedRow> {
  const { head, all } = await peek(source, SNIFF_BYTES);
  yield* parseRows(format, all, head, limits);
}

/**
 * The rows of a file in `format`. `head` is the file's first bytes (at least the first line when
 * there is one), used to find a CSV file's delimiter; pass it again as the start of `source`.
 */
export function parseRows(
  format: DatasetFormat,
  source: RowSource,
  head: Buffer,
  limits: ParseLimits = DEFAULT_PARSE_LIMITS,
): AsyncGenerator<ParsedRow> {
  switch (format) {
    case 'csv': {
      const text = head.toString('utf8');
      return parseCsv(source, { delimiter: sniffDelimiter(text), head: text, ...limits });
    }
    case 'json':
      return parseJsonArray(source, limits);
    case 'jsonl':
      return parseJsonl(source, limits);
  }
}
