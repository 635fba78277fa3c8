import { datasetTooLarge } from '../errors.js';
import type { ParsedRow } from '../formats/types.js';
import type { DatasetKind, SchemaColumn } from '../tables.js';
import { toText } from '../values.js';
import { ChatProfile, type ChatStats } from './chat.js';
import { ColumnProfile, type ColumnStats, DISTINCT_BUDGET } from './column.js';

export type { ChatStats } from './chat.js';
export type { ColumnStats } from './column.js';

export const PREVIEW_ROWS = 50;
/** Preview cells are for reading, not for analysis: long values are cut. */
const PREVIEW_CHARS = 1000;
/** A stored preview stops before this many characters of JSON (wide files get fewer rows). */
const PREVIEW_BUDGET = 1024 * 1024;

export interface DatasetStats {
  columns: ColumnStats[];
  chat?: ChatStats;
}

export interface Profile {
  kind: DatasetKind;
  rows: number;
  columns: SchemaColumn[];
  stats: DatasetStats;
  preview: Record<string, unknown>[];
}

/** A value as shown in a preview: strings and nested JSON cut to PREVIEW_CHARS characters. */
export function previewValue(v: unknown): unknown {
  if (typeof v === 'string') return v.length > PREVIEW_CHARS ? `${v.slice(0, PREVIEW_CHARS)}…` : v;
  if (v !== null && typeof v === 'object') {
    const json = toText(v);
    return json.length > PREVIEW_CHARS ? `${json.slice(0, PREVIEW_CHARS)}…` : v;
  }
  return v;
}

/**
 * Profiles a whole file row by row: the columns in order of first appearance (a JSON key first met
 * on row 500 was missing on the rows before), each column's type and statistics, the chat check and
 * the first PREVIEW_ROWS rows. Memory is bounded by the column count, not the row count.
 */
export class DatasetProfiler {
  rows = 0;
  private readonly columns: ColumnProfile[] = [];
  private readonly byName = new Map<string, ColumnProfile>();
  private readonly chat = new ChatProfile();
  private readonly preview: Record<string, unknown>[] = [];
  private previewChars = 0;
  private readonly budget = { left: DISTINCT_BUDGET };

  constructor(private readonly limits: { maxRows: number; maxColumns: number }) {}

  add(row: ParsedRow): void {
    if (++this.rows > this.limits.maxRows)
      throw datasetTooLarge(
        `The file has more than ${this.limits.maxRows} rows (the limit in forge/datasets)`,
      );
    for (const [name, value] of row.cells) {
      let col = this.byName.get(name);
      if (!col) {
        if (this.columns.length >= this.limits.maxColumns)
          throw datasetTooLarge(
            `The file has more than ${this.limits.maxColumns} columns (row ${this.rows}${row.line ? `, line ${row.line}` : ''}; the limit in forge/datasets)`,
          );
        col = new ColumnProfile(name, 0x5eed + this.columns.length, this.budget);
        this.columns.push(col);
        this.byName.set(name, col);
      }
      col.add(value);
    }
    this.chat.add(row.cells);
    if (this.preview.length < PREVIEW_ROWS && this.previewChars < PREVIEW_BUDGET) {
      const shown = Object.fromEntries(row.cells.map(([k, v]) => [k, previewValue(v)]));
      this.previewChars += JSON.stringify(shown).length;
      if (this.preview.length === 0 || this.previewChars <= PREVIEW_BUDGET) this.preview.push(shown);
    }
  }

  finish(): Profile {
    const stats = this.columns.map((c) => c.stats(this.rows));
    const chat = this.chat.result();
    return {
      kind: chat ? 'chat' : 'tabular',
      rows: this.rows,
      columns: stats.map((s) => ({ name: s.name, type: s.type, missing: s.missing })),
      stats: { columns: stats, ...(chat ? { chat } : {}) },
      preview: this.preview,
    };
  }
}
