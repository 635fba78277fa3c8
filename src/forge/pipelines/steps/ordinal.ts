import { z } from 'zod';
import type { Column } from '../../frame/frame.js';
import { isNumeric } from '../../frame/frame.js';
import { columnList, columnName, defineTransform, pickColumns, requireColumn } from './util.js';

const config = z.strictObject({
  columns: columnList.optional().describe('Columns to encode; default: every categorical column'),
  categories: z
    .record(columnName, z.array(z.string()).min(1))
    .optional()
    .describe('Per column, its categories in order (e.g. low, medium, high); default: sorted'),
  unknown_value: z
    .union([z.number().int(), z.literal('nan')])
    .default(-1)
    .describe('Code for a category not seen at fit: an integer (default -1) or "nan" for a missing value'),
});
type Config = z.infer<typeof config>;

const params = z.object({
  columns: z.array(z.object({ name: z.string(), categories: z.array(z.string()) })),
  unknown_value: z.union([z.number(), z.literal('nan')]),
});
type Params = z.infer<typeof params>;

const STEP = 'ordinal_encoder';

function categoriesOf(c: Column): (string | null)[] {
  if (!isNumeric(c)) return c.values;
  return Array.from(c.values, (v) => (Number.isNaN(v) ? null : String(v)));
}

export const ordinalEncoder = defineTransform<Config, Params>({
  kind: 'transform',
  type: STEP,
  description:
    'Replaces each categorical column by its category’s position (0, 1, …); missing values stay missing.',
  config,
  params,
  fit(frame, cfg) {
    const cols = pickColumns(frame, cfg.columns, (c) => c.type === 'categorical', STEP);
    return {
      columns: cols.map((c) => {
        const given = cfg.categories?.[c.name];
        if (given) return { name: c.name, categories: [...new Set(given)] };
        const seen = new Set<string>();
        for (const v of categoriesOf(c)) if (v !== null) seen.add(v);
        return { name: c.name, categories: [...seen].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)) };
      }),
      unknown_value: cfg.unknown_value,
    };
  },
  apply(frame, p) {
    const unknown = p.unknown_value === 'nan' ? Number.NaN : p.unknown_value;
    const encoded = new Map<string, Column>(
      p.columns.map((col) => {
        const index = new Map(col.categories.map((v, i) => [v, i]));
        const values = categoriesOf(requireColumn(frame, col.name, STEP, 'apply'));
        const out = new Float64Array(values.length);
        for (let i = 0; i < values.length; i++) {
          const v = values[i];
          out[i] = v === null || v === undefined ? Number.NaN : (index.get(v) ?? unknown);
        }
        return [col.name, { name: col.name, type: 'numeric', values: out }];
      }),
    );
    return { length: frame.length, columns: frame.columns.map((c) => encoded.get(c.name) ?? c) };
  },
});
