import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type CsvError, parse } from 'csv-parse';
import { parse as parseSync } from 'csv-parse/sync';
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

/** The header of a CSV file from its first bytes, for error messages about records never consumed. */
function headerOf(head: string, delimiter: string): string[] | undefined {
  try {
    const [first] = parseSync(head, { bom: true, delimiter, to: 1, relax_column_count: true }) as string[][];
    return first ? columnNames(first) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * CSV through csv-parse's streaming parser (RFC 4180 quoting, any line ending, UTF-8 BOM). The first
 * record is the header. Every record must have as many fields as the header; csv-parse's own errors
 * (ragged record, unterminated or stray quote, oversized record) become a 400 naming line, row and
 * column. Records carry no line of their own: csv-parse's per-record info costs more than the rest
 * of the parse, and its errors say the line themselves.
 */
export async function* parseCsv(
  source: RowSource,
  opts: { delimiter: string; head?: string } & Partial<ParseLimits> = { delimiter: ',' },
): AsyncGenerator<ParsedRow> {
  const parser = parse({
    bom: true,
    delimiter: opts.delimiter,
    record_delimiter: ['\r\n', '\n', '\r'],
    skip_empty_lines: true,
    max_record_size: opts.maxRowBytes ?? DEFAULT_PARSE_LIMITS.maxRowBytes,
  });
  const feeding = pipeline(Readable.from(source, { objectMode: false }), parser);
  let names: string[] | undefined;
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      if (!names) {
        names = columnNames(record);
        continue;
      }
      const cells: [string, unknown][] = new Array(record.length);
      for (let i = 0; i < record.length; i++) cells[i] = [names[i]!, record[i]];
      yield { cells };
    }
    await feeding;
  } catch (err) {
    throw toDatasetError(err, names ?? (opts.head ? headerOf(opts.head, opts.delimiter) : undefined));
  } finally {
    parser.destroy();
    feeding.catch(() => {});
  }
}

function toDatasetError(err: unknown, names: string[] | undefined): unknown {
  if (err instanceof AppError || !(err instanceof Error) || !('code' in err)) return err;
  const e = err as CsvError & {
    lines?: number;
    column?: number | string;
    record?: string[];
    records?: number;
  };
  const col = typeof e.column === 'number' ? (names?.[e.column] ?? e.column + 1) : e.column;
  // `records` counts the complete records before the failing one, header included, so it is also the
  // failing record's data row number; 0 means the header itself failed.
  const dataRow = e.records ? e.records : undefined;
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
      return datasetMalformed(`a quoted field is never closed (the file ends at line ${e.lines})`, {
        row: dataRow,
        column: col,
      });
    case 'CSV_MAX_RECORD_SIZE':
      return datasetTooLarge(
        `Row ${dataRow ?? 0} (by line ${e.lines}) is larger than the row limit (an unclosed quote?)`,
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
