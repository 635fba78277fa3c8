import type { TransformStep } from '../types.js';
import { dropColumns, selectColumns } from './columns.js';
import { impute } from './impute.js';
import { oneHot } from './one-hot.js';
import { ordinalEncoder } from './ordinal.js';
import { minMaxScaler, robustScaler, standardScaler } from './scalers.js';

/** Forge's transform steps; a new one is added here and nowhere else. */
export const TRANSFORM_STEPS: TransformStep[] = [
  dropColumns,
  selectColumns,
  impute,
  standardScaler,
  minMaxScaler,
  robustScaler,
  oneHot,
  ordinalEncoder,
];
