import { z } from 'zod';
import { type Column, type Frame, isNumeric, type NumericColumn } from '../../frame/frame.js';
import { StepError } from '../errors.js';
import {
  columnList,
  defineTransform,
  pickColumns,
  presentValues,
  quantileSorted,
  requireColumn,
  requireNumeric,
} from './util.js';

/**
 * The three scalers share one shape: per column an offset and a scale learned at fit, and
 * `(x - offset) / scale` at apply. Missing values are left out of the statistics and stay missing.
 * A column with no spread gets scale 1 so it is shifted but never divided by zero.
 */
const scaleParams = z.object({
  columns: z.array(z.object({ name: z.string(), offset: z.number(), scale: z.number() })),
  /** min_max_scaler's target range start; 0 for the others. */
  shift: z.number().default(0),
});
type ScaleParams = z.infer<typeof scaleParams>;
type ColumnScale = ScaleParams['columns'][number];

const columnsOption = columnList.optional().describe('Columns to scale; default: every numeric column');

function numericColumns(frame: Frame, names: readonly string[] | undefined, step: string): NumericColumn[] {
  return pickColumns(frame, names, isNumeric, step).map((c) =>
    requireNumeric(c, step, 'encode it with one_hot or ordinal_encoder first'),
  );
}

function requirePresent(c: NumericColumn, step: string): Float64Array {
  const v = presentValues(c);
  if (v.length === 0)
    throw new StepError('empty_column', `${step}: column '${c.name}' has no values to learn a scale from`);
  return v;
}

/**
 * A spread below 1e-14 of the column's magnitude (about 45 ulps) is rounding noise, not spread:
 * dividing by it would blow values up to ~1e14 and beyond, so such a column counts as constant.
 */
function spreadOr1(spread: number, values: Float64Array): number {
  let magnitude = 0;
  for (const v of values) magnitude = Math.max(magnitude, Math.abs(v));
  return spread <= magnitude * 1e-14 || !Number.isFinite(spread) ? 1 : spread;
}

/**
 * Mean and population deviation (ddof 0, as scikit-learn). Sums run over values divided by the
 * largest magnitude, so columns near the float limits (1e200) neither overflow nor lose their spread.
 */
function meanAndDeviation(v: Float64Array): { mean: number; std: number } {
  let m = 0;
  for (const x of v) m = Math.max(m, Math.abs(x));
  if (m === 0 || !Number.isFinite(m)) return { mean: 0, std: 0 };
  let mean = 0;
  for (const x of v) mean += x / m;
  mean /= v.length;
  let ss = 0;
  for (const x of v) ss += (x / m - mean) ** 2;
  return { mean: mean * m, std: Math.sqrt(ss / v.length) * m };
}

function applyScale(frame: Frame, p: ScaleParams, step: string): Frame {
  const byName = new Map<string, ColumnScale>(p.columns.map((c) => [c.name, c]));
  for (const name of byName.keys()) requireColumn(frame, name, step, 'apply');
  return {
    length: frame.length,
    columns: frame.columns.map((c): Column => {
      const s = byName.get(c.name);
      if (!s) return c;
      const src = requireNumeric(c, step).values;
      const out = new Float64Array(src.length);
      for (let i = 0; i < src.length; i++) out[i] = ((src[i] as number) - s.offset) / s.scale + p.shift;
      return { name: c.name, type: 'numeric', values: out };
    }),
  };
}

export const standardScaler = defineTransform({
  kind: 'transform',
  type: 'standard_scaler',
  description: 'Centres numeric columns on their mean and divides by their standard deviation.',
  config: z.strictObject({
    columns: columnsOption,
    with_mean: z.boolean().default(true),
    with_std: z.boolean().default(true),
  }),
  params: scaleParams,
  fit(frame, cfg): ScaleParams {
    const columns = numericColumns(frame, cfg.columns, 'standard_scaler').map((c) => {
      const v = requirePresent(c, 'standard_scaler');
      const { mean, std } = meanAndDeviation(v);
      return { name: c.name, offset: cfg.with_mean ? mean : 0, scale: cfg.with_std ? spreadOr1(std, v) : 1 };
    });
    return { columns, shift: 0 };
  },
  apply: (frame, p) => applyScale(frame, p, 'standard_scaler'),
});

export const minMaxScaler = defineTransform({
  kind: 'transform',
  type: 'min_max_scaler',
  description: 'Maps each numeric column’s training range onto feature_range (default 0..1).',
  config: z
    .strictObject({
      columns: columnsOption,
      feature_range: z.tuple([z.number(), z.number()]).default([0, 1]),
    })
    .refine((c) => c.feature_range[0] < c.feature_range[1], {
      path: ['feature_range'],
      message: 'the range must be increasing',
    }),
  params: scaleParams,
  fit(frame, cfg): ScaleParams {
    const [lo, hi] = cfg.feature_range;
    const columns = numericColumns(frame, cfg.columns, 'min_max_scaler').map((c) => {
      const v = requirePresent(c, 'min_max_scaler');
      let min = Number.POSITIVE_INFINITY;
      let max = Number.NEGATIVE_INFINITY;
      for (const x of v) {
        if (x < min) min = x;
        if (x > max) max = x;
      }
      // (x - min) / (max - min) * (hi - lo) + lo, written as one offset and scale.
      return { name: c.name, offset: min, scale: spreadOr1(max - min, v) / (hi - lo) };
    });
    return { columns, shift: lo };
  },
  apply: (frame, p) => applyScale(frame, p, 'min_max_scaler'),
});

export const robustScaler = defineTransform({
  kind: 'transform',
  type: 'robust_scaler',
  description: 'Centres numeric columns on their median and divides by their interquartile range.',
  config: z
    .strictObject({
      columns: columnsOption,
      with_centering: z.boolean().default(true),
      with_scaling: z.boolean().default(true),
      quantile_range: z.tuple([z.number().min(0).max(100), z.number().min(0).max(100)]).default([25, 75]),
    })
    .refine((c) => c.quantile_range[0] < c.quantile_range[1], {
      path: ['quantile_range'],
      message: 'the range must be increasing',
    }),
  params: scaleParams,
  fit(frame, cfg): ScaleParams {
    const [qlo, qhi] = cfg.quantile_range;
    const columns = numericColumns(frame, cfg.columns, 'robust_scaler').map((c) => {
      const v = requirePresent(c, 'robust_scaler').sort();
      const iqr = quantileSorted(v, qhi / 100) - quantileSorted(v, qlo / 100);
      return {
        name: c.name,
        offset: cfg.with_centering ? quantileSorted(v, 0.5) : 0,
        scale: cfg.with_scaling ? spreadOr1(iqr, v) : 1,
      };
    });
    return { columns, shift: 0 };
  },
  apply: (frame, p) => applyScale(frame, p, 'robust_scaler'),
});
