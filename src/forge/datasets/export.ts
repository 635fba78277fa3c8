import type { ParsedRow } from './formats/index.js';
import type { DatasetFormat, SchemaColumn } from './tables.js';
import { isMissing, toBoolean, toNumber, toText } from './values.js';

export const EXPORT_FORMATS = ['csv', 'jsonl'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;
/** Output is handed on in pieces of about this many characters. */
const PIECE = 64 * 1024;

/**
 * A CSV cell that a spreadsheet would not run: text starting with = + - @, a tab or a carriage
 * return gets a leading single quote (OWASP's advice against CSV injection). A plain number in a
 * numeric column is left alone, since -3 or +1.5 cannot be a formula and quoting it would turn the
 * column into text on the next upload.
 */
export function csvCell(value: string, numeric = false): string {
  let s = value;
  if (FORMULA_START.test(s) && !(numeric && !Number.isNaN(toNumber(s)))) s = `'${s}`;
  return NEEDS_QUOTES.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** A value for JSON Lines: JSON sources keep their values; CSV text becomes numbers and booleans by type. */
function jsonValue(v: unknown, column: SchemaColumn, source: DatasetFormat): unknown {
  if (v === undefined || isMissing(v)) return null;
  if (source !== 'csv') return v;
  if (column.type === 'numeric') return toNumber(v);
  if (column.type === 'boolean') return toBoolean(v) === 1;
  return v;
}

/** A version's rows written as CSV (header first, CRLF line ends) or JSON Lines, in schema order. */
export async function* exportRows(
  rows: AsyncIterable<ParsedRow>,
  columns: readonly SchemaColumn[],
  source: DatasetFormat,
  format: ExportFormat,
): AsyncGenerator<string> {
  let out = format === 'csv' ? `${columns.map((c) => csvCell(c.name)).join(',')}\r\n` : '';
  for await (const row of rows) {
    const cells = new Map(row.cells);
    if (format === 'csv') {
      out += `${columns
        .map((c) => {
          const v = cells.get(c.name);
          return v === undefined || isMissing(v) ? '' : csvCell(toText(v), c.type === 'numeric');
        })
        .join(',')}\r\n`;
    } else {
      // No prototype: a column named __proto__ must become a key, not replace the prototype.
      const obj: Record<string, unknown> = Object.create(null);
      for (const c of columns) obj[c.name] = jsonValue(cells.get(c.name), c, source);
      out += `${JSON.stringify(obj)}\n`;
    }
    if (out.length >= PIECE) {
      yield out;
      out = '';
    }
  }
  if (out) yield out;
}
