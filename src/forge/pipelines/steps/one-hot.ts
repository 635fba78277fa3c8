import { z } from 'zod';
import type { Column, Frame } from '../../frame/frame.js';
import { isNumeric } from '../../frame/frame.js';
import { StepError } from '../errors.js';
import {
  columnList,
  defineTransform,
  pickColumns,
  requireColumn,
  spliceColumns,
  uniqueName,
} from './util.js';

/** Past this many categories one-hot columns cost more than they tell; max_categories caps them. */
export const MAX_ONE_HOT_CATEGORIES = 1000;

const config = z.strictObject({
  columns: columnList.optional().describe('Columns to encode; default: every categorical column'),
  max_categories: z
    .number()
    .int()
    .min(2)
    .max(MAX_ONE_HOT_CATEGORIES)
    .optional()
    .describe('At most this many output columns per input: the rarest categories share one "other" column'),
  drop_first: z
    .boolean()
    .default(false)
    .describe('Leave out the first category’s column (it is then the all-zeros row)'),
});
type Config = z.infer<typeof config>;

/**
 * Each output column is 1 where the input's value is one of its categories. Categories without an
 * output (unseen at fit, missing, or the dropped first one) give a row of zeros.
 */
const params = z.object({
  columns: z.array(
    z.object({
      name: z.string(),
      outputs: z.array(z.object({ name: z.string(), categories: z.array(z.string()) })),
    }),
  ),
});
type Params = z.infer<typeof params>;

const STEP = 'one_hot';

/** A column's values as category strings (numbers are encoded by their text form). */
function categoriesOf(c: Column): (string | null)[] {
  if (!isNumeric(c)) return c.values;
  return Array.from(c.values, (v) => (Number.isNaN(v) ? null : String(v)));
}

const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function fitColumn(c: Column, cfg: Config, taken: Set<string>): Params['columns'][number] {
  const counts = new Map<string, number>();
  for (const v of categoriesOf(c)) if (v !== null) counts.set(v, (counts.get(v) ?? 0) + 1);
  const sorted = [...counts.keys()].sort(byCodePoint);
  const max = cfg.max_categories;
  if (max === undefined && sorted.length > MAX_ONE_HOT_CATEGORIES)
    throw new StepError(
      'too_many_categories',
      `${STEP}: column '${c.name}' has ${sorted.length} categories; set max_categories or use ordinal_encoder`,
    );
  let kept = sorted;
  let other: string[] = [];
  if (max !== undefined && sorted.length > max) {
    // The max - 1 commonest categories keep a column each (ties to the earlier in order); the rest share one.
    const top = new Set(
      [...sorted].sort((a, b) => (counts.get(b) as number) - (counts.get(a) as number)).slice(0, max - 1),
    );
    kept = sorted.filter((v) => top.has(v));
    other = sorted.filter((v) => !top.has(v));
  }
  const outputs = kept.map((v) => ({ name: uniqueName(`${c.name}_${v}`, taken), categories: [v] }));
  if (cfg.drop_first) outputs.shift();
  if (other.length) outputs.push({ name: uniqueName(`${c.name}_other`, taken), categories: other });
  return { name: c.name, outputs };
}

function encode(frame: Frame, col: Params['columns'][number]): Column[] {
  const index = new Map<string, number>();
  col.outputs.forEach((o, k) => {
    for (const v of o.categories) index.set(v, k);
  });
  const out = col.outputs.map(() => new Float64Array(frame.length));
  const values = categoriesOf(requireColumn(frame, col.name, STEP, 'apply'));
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const k = v === null || v === undefined ? undefined : index.get(v);
    if (k !== undefined) (out[k] as Float64Array)[i] = 1;
  }
  return col.outputs.map((o, k) => ({ name: o.name, type: 'boolean', values: out[k] as Float64Array }));
}

export const oneHot = defineTransform<Config, Params>({
  kind: 'transform',
  type: STEP,
  description:
    'Replaces each categorical column by one 0/1 column per category; unseen or missing values encode as all zeros.',
  config,
  params,
  fit(frame, cfg) {
    const cols = pickColumns(frame, cfg.columns, (c) => c.type === 'categorical', STEP);
    const encoded = new Set(cols.map((c) => c.name));
    const taken = new Set(frame.columns.filter((c) => !encoded.has(c.name)).map((c) => c.name));
    return { columns: cols.map((c) => fitColumn(c, cfg, taken)) };
  },
  apply(frame, p) {
    return spliceColumns(frame, new Map(p.columns.map((col) => [col.name, encode(frame, col)])));
  },
});
