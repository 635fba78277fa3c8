import { z } from 'zod';
import { type Column, isNumeric, type NumericColumn, type StringColumn } from '../../frame/frame.js';
import { StepError } from '../errors.js';
import { columnList, defineTransform, pickColumns, presentValues, requireColumn } from './util.js';

const config = z
  .strictObject({
    strategy: z
      .enum(['mean', 'median', 'most_frequent', 'constant'])
      .default('mean')
      .describe('mean and median fill numeric columns; most_frequent and constant any column'),
    columns: columnList
      .optional()
      .describe(
        'Columns to fill; default: every column the strategy can fill (numeric ones for mean and median, those matching fill_value’s type for constant, all for most_frequent)',
      ),
    fill_value: z
      .union([z.number(), z.string()])
      .optional()
      .describe('The value for strategy constant: a number for numeric columns, a string otherwise'),
  })
  .superRefine((c, ctx) => {
    if (c.strategy === 'constant' && c.fill_value === undefined)
      ctx.addIssue({ code: 'custom', path: ['fill_value'], message: 'strategy constant needs a fill_value' });
  });
type Config = z.infer<typeof config>;

const params = z.object({
  fills: z.array(z.object({ column: z.string(), value: z.union([z.number(), z.string()]) })),
});
type Params = z.infer<typeof params>;

const STEP = 'impute';

function mean(c: NumericColumn): number {
  const v = presentValues(c);
  let s = 0;
  for (const x of v) s += x;
  return s / v.length;
}

function median(c: NumericColumn): number {
  const v = presentValues(c).sort();
  const mid = v.length >> 1;
  return v.length % 2 ? (v[mid] as number) : ((v[mid - 1] as number) + (v[mid] as number)) / 2;
}

/** The commonest present value; ties go to the smallest, so the choice does not depend on row order. */
function mostFrequent<T extends number | string>(values: Iterable<T | null>, skip: (v: T) => boolean): T {
  const counts = new Map<T, number>();
  for (const v of values) if (v !== null && !skip(v)) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best: T | undefined;
  let bestCount = 0;
  for (const [v, n] of counts)
    if (n > bestCount || (n === bestCount && best !== undefined && v < best)) {
      best = v;
      bestCount = n;
    }
  return best as T;
}

function fillFor(c: Column, cfg: Config): number | string {
  const present = isNumeric(c) ? presentValues(c).length : c.values.filter((v) => v !== null).length;
  if (cfg.strategy === 'constant') {
    const v = cfg.fill_value as number | string;
    if (isNumeric(c) && typeof v !== 'number')
      throw new StepError(
        'invalid_fill_value',
        `${STEP}: column '${c.name}' is ${c.type}; its fill_value must be a number`,
      );
    return isNumeric(c) ? v : String(v);
  }
  if (present === 0)
    throw new StepError(
      'empty_column',
      `${STEP}: column '${c.name}' has no values to compute a ${cfg.strategy} from; remove it with drop_columns or use strategy constant`,
    );
  if (cfg.strategy === 'most_frequent')
    return isNumeric(c) ? mostFrequent(c.values, Number.isNaN) : mostFrequent(c.values, () => false);
  if (!isNumeric(c))
    throw new StepError(
      'non_numeric_feature',
      `${STEP}: column '${c.name}' is ${c.type}; strategy ${cfg.strategy} needs numbers (use most_frequent or constant)`,
    );
  return cfg.strategy === 'mean' ? mean(c) : median(c);
}

/**
 * By default a strategy fills every column it can: mean/median only numbers, constant its own
 * type. Not only the columns with gaps in the training rows: a held-out or served row may have a gap
 * where training had none, and filling it there is what the step is for (as scikit-learn's imputer).
 */
function fillsByDefault(c: Column, cfg: Config): boolean {
  if (cfg.strategy === 'mean' || cfg.strategy === 'median') return isNumeric(c);
  if (cfg.strategy === 'constant') return isNumeric(c) === (typeof cfg.fill_value === 'number');
  return true;
}

export const impute = defineTransform<Config, Params>({
  kind: 'transform',
  type: STEP,
  description: 'Fills missing values with the column’s mean, median, most frequent value or a constant.',
  config,
  params,
  fit(frame, cfg) {
    const cols = pickColumns(frame, cfg.columns, (c) => fillsByDefault(c, cfg), STEP);
    return { fills: cols.map((c) => ({ column: c.name, value: fillFor(c, cfg) })) };
  },
  apply(frame, p) {
    const replace = p.fills.map(({ column, value }): Column => {
      const c = requireColumn(frame, column, STEP, 'apply');
      if (isNumeric(c)) {
        const fill = Number(value);
        return { ...c, values: c.values.map((v) => (Number.isNaN(v) ? fill : v)) };
      }
      const fill = String(value);
      return { ...c, values: c.values.map((v) => v ?? fill) } satisfies StringColumn;
    });
    const byName = new Map(replace.map((c) => [c.name, c]));
    return { length: frame.length, columns: frame.columns.map((c) => byName.get(c.name) ?? c) };
  },
});
