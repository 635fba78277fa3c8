import { createReadStream } from 'node:fs';
import type { Column, Frame } from '../frame/frame.js';
import { readRows } from './formats/index.js';
import type { DatasetFormat, SchemaColumn } from './tables.js';
import { isMissing, toBoolean, toDatetime, toNumber, toText } from './values.js';

type Builder =
  | {
      kind: 'number';
      name: string;
      type: 'numeric' | 'boolean' | 'datetime';
      values: Float64Array;
      read: (v: unknown) => number;
    }
  | { kind: 'string'; name: string; type: 'categorical' | 'text'; values: (string | null)[] };

const READERS = { numeric: toNumber, boolean: toBoolean, datetime: toDatetime } as const;

/**
 * Reads a stored dataset file into a columnar Frame, typed by the schema inferred at upload:
 * numeric, boolean (1/0) and datetime (epoch ms, UTC) columns become Float64Array with NaN where a
 * value is missing; categorical and text columns become strings with null. Rows keep the file's
 * order; a column the schema does not name is left out. Uses no database, so a training process
 * can call it on the path `datasets.fileFor` answers.
 */
export async function readFrame(
  path: string,
  format: DatasetFormat,
  schema: readonly SchemaColumn[] | { columns: readonly SchemaColumn[] },
): Promise<Frame> {
  const columns = 'columns' in schema ? schema.columns : schema;
  let capacity = 1024;
  const builders: Builder[] = columns.map((c) =>
    c.type === 'categorical' || c.type === 'text'
      ? { kind: 'string', name: c.name, type: c.type, values: [] }
      : {
          kind: 'number',
          name: c.name,
          type: c.type,
          values: new Float64Array(capacity).fill(Number.NaN),
          read: READERS[c.type],
        },
  );
  const index = new Map(builders.map((b, i) => [b.name, i]));
  let n = 0;
  for await (const row of readRows(format, createReadStream(path))) {
    if (n === capacity) {
      capacity *= 2;
      for (const b of builders)
        if (b.kind === 'number') {
          const grown = new Float64Array(capacity).fill(Number.NaN);
          grown.set(b.values);
          b.values = grown;
        }
    }
    for (const b of builders) if (b.kind === 'string') b.values.push(null);
    for (const [name, value] of row.cells) {
      const i = index.get(name);
      if (i === undefined) continue;
      const b = builders[i]!;
      if (b.kind === 'string') b.values[n] = isMissing(value) ? null : toText(value);
      else b.values[n] = b.read(value);
    }
    n++;
  }
  return {
    length: n,
    columns: builders.map(
      (b): Column =>
        b.kind === 'string'
          ? { name: b.name, type: b.type, values: b.values }
          : { name: b.name, type: b.type, values: b.values.slice(0, n) },
    ),
  };
}
