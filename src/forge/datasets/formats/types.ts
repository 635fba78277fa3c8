import type { DatasetFormat } from '../tables.js';

/** One data row as a parser yields it: cells in the file's order, and where the row starts. */
export interface ParsedRow {
  /** 1-based line where the row starts, when the parser tracks it (JSON and JSON Lines do). */
  line?: number | undefined;
  cells: [name: string, value: unknown][];
}

export type RowSource = AsyncIterable<Buffer>;
export type RowParser = (source: RowSource) => AsyncGenerator<ParsedRow>;

export interface ParseLimits {
  /** Largest single row (a CSV record, a JSONL line, a JSON array element), in bytes. */
  maxRowBytes: number;
}

export const DEFAULT_PARSE_LIMITS: ParseLimits = { maxRowBytes: 16 * 1024 * 1024 };

export type { DatasetFormat };
