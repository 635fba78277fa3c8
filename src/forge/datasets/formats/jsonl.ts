import { datasetMalformed, datasetTooLarge } from '../errors.js';
import { locateJsonError } from './json.js';
import { DEFAULT_PARSE_LIMITS, type ParsedRow, type ParseLimits, type RowSource } from './types.js';

const decoder = new TextDecoder('utf-8');

function parseLine(bytes: Buffer, line: number): ParsedRow | undefined {
  let text = decoder.decode(bytes);
  if (line === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.endsWith('\r')) text = text.slice(0, -1);
  if (text.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // JSON.parse does not always say where; the streaming tokenizer does.
    const at = locateJsonError(Buffer.from(text));
    throw datasetMalformed(`invalid JSON${at ? `: ${at.what}` : ''}`, { line, column: at?.column });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const what = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
    throw datasetMalformed(`the line holds ${what}, not a JSON object`, { line });
  }
  return { line, cells: Object.entries(value) };
}

/**
 * JSON Lines: one object per line, blank lines skipped. Lines are cut on the newline byte, which
 * never occurs inside a UTF-8 sequence, so a character split between chunks is decoded whole. A line
 * is held only until it is complete; one longer than the row limit is refused as it grows.
 */
export async function* parseJsonl(
  source: RowSource,
  limits: ParseLimits = DEFAULT_PARSE_LIMITS,
): AsyncGenerator<ParsedRow> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let line = 1;
  for await (const chunk of source) {
    let start = 0;
    for (let nl = chunk.indexOf(0x0a); nl !== -1; nl = chunk.indexOf(0x0a, start)) {
      const piece = chunk.subarray(start, nl);
      const bytes = pending.length ? Buffer.concat([...pending, piece]) : piece;
      pending = [];
      pendingBytes = 0;
      if (bytes.length > limits.maxRowBytes)
        throw datasetTooLarge(`Line ${line} is longer than ${limits.maxRowBytes} bytes`);
      const row = parseLine(bytes, line);
      if (row) yield row;
      line++;
      start = nl + 1;
    }
    if (start < chunk.length) {
      pending.push(chunk.subarray(start));
      pendingBytes += chunk.length - start;
      if (pendingBytes > limits.maxRowBytes)
        throw datasetTooLarge(`Line ${line} is longer than ${limits.maxRowBytes} bytes`);
    }
  }
  if (pendingBytes > 0) {
    const row = parseLine(Buffer.concat(pending), line);
    if (row) yield row;
  }
}
