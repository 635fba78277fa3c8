import type { ModelStep } from '../types.js';
import { kmeans } from './cluster/kmeans.js';
import { linearRegression, ridge } from './linear/linear.js';
import { logisticRegression } from './linear/logistic.js';
import { mlpClassifier, mlpRegressor } from './mlp/steps.js';
import { randomForestClassifier, randomForestRegressor } from './trees/forest-steps.js';
import { gbdtClassifier, gbdtRegressor } from './trees/gbdt-steps.js';

/** Forge's model steps; a new model adds its import and one entry here and nowhere else. */
export const MODEL_STEPS: ModelStep[] = [
  linearRegression,
  ridge,
  logisticRegression,
  kmeans,
  gbdtClassifier,
  gbdtRegressor,
  randomForestClassifier,
  randomForestRegressor,
  mlpClassifier,
  mlpRegressor,
];
