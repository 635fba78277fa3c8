import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type CsvError, type InfoRecord, type Options, parse } from 'csv-parse';
import { AppError } from '../../../platform/errors.js';
import { datasetMalformed, datasetTooLarge } from '../errors.js';
import { DEFAULT_PARSE_LIMITS, type ParsedRow, type ParseLimits, type RowSource } from './types.js';

const DELIMITERS = [',', ';', '\t', '|'] as const;

/**
 * The delimiter of a CSV file, from its first line: the candidate that occurs most often outside
 * quotes. A file with a single column has none of them and reads as comma-separated.
 */
export function sniffDelimiter(head: string): string {
  let best: string = ',';
  let bestCount = 0;
  const counts = new Map<string, number>();
  let quoted = false;
  for (const ch of head) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && (ch === '\n' || ch === '\r')) break;
    else if (!quoted && (DELIMITERS as readonly string[]).includes(ch))
      counts.set(ch, (counts.get(ch) ?? 0) + 1);
  }
  for (const d of DELIMITERS) {
    const n = counts.get(d) ?? 0;
    if (n > bestCount) {
      best = d;
      bestCount = n;
    }
  }
  return best;
}

/** Header names as columns: blanks get a position name, repeats get a suffix (a, a_2, a_3). */
export function columnNames(header: string[]): string[] {
  const seen = new Set<string>();
  return header.map((raw, i) => {
    const base = raw.trim() || `column_${i + 1}`;
    let name = base;
    for (let n = 2; seen.has(name.toLowerCase()); n++) name = `${base}_${n}`;
    seen.add(name.toLowerCase());
    return name;
  });
}

/** Line breaks inside a record's fields (quoted newlines), counting CRLF once. */
const breaksIn = (record: string[]) => {
  let n = 0;
  for (const f of record) if (f.length > 0) n += f.match(/\r\n|\n|\r/g)?.length ?? 0;
  return n;
};

/** Parser state as of the last complete record, kept in step by csv-parse's on_record hook. */
interface CsvState {
  names: string[] | undefined;
  /** Records parsed so far, header included, and the line the last one ended on. */
  records: number;
  lastLine: number;
}

/**
 * CSV through csv-parse's streaming parser (RFC 4180 quoting, any line ending, UTF-8 BOM). The first
 * record is the header. Every record must have as many fields as the header; csv-parse's own errors
 * (ragged record, unterminated or stray quote, oversized record) become a 400 naming line, row and
 * column. The on_record hook runs as each record is parsed, so the state an error reads is exact
 * even when records are still buffered for the consumer.
 */
export async function* parseCsv(
  source: RowSource,
  opts: { delimiter: string } & Partial<ParseLimits> = { delimiter: ',' },
): AsyncGenerator<ParsedRow> {
  const state: CsvState = { names: undefined, records: 0, lastLine: 0 };
  const options: Options<{ line: number; record: string[] }, string[]> = {
    bom: true,
    delimiter: opts.delimiter,
    record_delimiter: ['\r\n', '\n', '\r'],
    skip_empty_lines: true,
    max_record_size: opts.maxRowBytes ?? DEFAULT_PARSE_LIMITS.maxRowBytes,
    on_record: (record: string[], info: InfoRecord) => {
      state.records++;
      state.lastLine = info.lines;
      if (!state.names) {
        state.names = columnNames(record);
        return null;
      }
      return { line: info.lines - breaksIn(record), record };
    },
  };
  // csv-parse's typings tie on_record's result to `columns`; records here are { line, record }.
  const parser = parse(options as unknown as Options);
  const feeding = pipeline(Readable.from(source, { objectMode: false }), parser);
  try {
    for await (const { line, record } of parser as AsyncIterable<{ line: number; record: string[] }>) {
      const names = state.names!;
      yield { line, cells: record.map((v, i) => [names[i]!, v]) };
    }
    await feeding;
  } catch (err) {
    throw toDatasetError(err, state);
  } finally {
    parser.destroy();
    feeding.catch(() => {});
  }
}

function toDatasetError(err: unknown, state: CsvState): unknown {
  if (err instanceof AppError || !(err instanceof Error) || !('code' in err)) return err;
  const e = err as CsvError & { lines?: number; column?: number | string; record?: string[] };
  const { names, lastLine } = state;
  const col = typeof e.column === 'number' ? (names?.[e.column] ?? e.column + 1) : e.column;
  // The failing record is the one after the last complete record; the header is not a data row.
  const dataRow = names ? state.records : undefined;
  switch (e.code) {
    case 'CSV_RECORD_INCONSISTENT_FIELDS_LENGTH': {
      const got = e.record?.length ?? 0;
      const want = names?.length ?? 0;
      const detail =
        got > want
          ? `${got} fields where the header has ${want}; the extra field after column '${names?.[want - 1]}' has no header`
          : `${got} fields where the header has ${want}; column '${names?.[got]}' is missing`;
      return datasetMalformed(detail, { line: e.lines, row: dataRow });
    }
    case 'CSV_QUOTE_NOT_CLOSED':
      return datasetMalformed(`a quoted field opened at line ${lastLine + 1} is never closed`, {
        line: lastLine + 1,
        row: dataRow,
        column: col,
      });
    case 'CSV_MAX_RECORD_SIZE':
      return datasetTooLarge(
        `The record starting at line ${lastLine + 1} is larger than the row limit (an unclosed quote?)`,
      );
    case 'INVALID_OPENING_QUOTE':
    case 'CSV_INVALID_CLOSING_QUOTE':
    case 'CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE':
      return datasetMalformed(
        `a quote inside a field must be doubled, and a quoted field must end at a delimiter (${e.message})`,
        { line: e.lines, row: dataRow, column: col },
      );
    default:
      return datasetMalformed(e.message, { line: e.lines, row: dataRow, column: col });
  }
}
