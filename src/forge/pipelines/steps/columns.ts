import { z } from 'zod';
import { columnList, defineTransform, requireColumn } from './util.js';

const columnsParams = z.object({ columns: z.array(z.string()) });

export const dropColumns = defineTransform({
  kind: 'transform',
  type: 'drop_columns',
  description: 'Removes the named columns.',
  config: z.strictObject({
    columns: columnList.describe('Columns to remove'),
  }),
  params: columnsParams,
  fit(frame, config) {
    for (const name of config.columns) requireColumn(frame, name, 'drop_columns', 'fit');
    return { columns: [...new Set(config.columns)] };
  },
  // Dropping a column that is not there already holds, so apply asks nothing of the rows.
  apply(frame, params) {
    const drop = new Set(params.columns);
    return { length: frame.length, columns: frame.columns.filter((c) => !drop.has(c.name)) };
  },
});

export const selectColumns = defineTransform({
  kind: 'transform',
  type: 'select_columns',
  description: 'Keeps only the named columns, in the order given.',
  config: z.strictObject({
    columns: columnList.describe('Columns to keep, in order'),
  }),
  params: columnsParams,
  fit(frame, config) {
    for (const name of config.columns) requireColumn(frame, name, 'select_columns', 'fit');
    return { columns: [...new Set(config.columns)] };
  },
  apply(frame, params) {
    return {
      length: frame.length,
      columns: params.columns.map((name) => requireColumn(frame, name, 'select_columns', 'apply')),
    };
  },
});
