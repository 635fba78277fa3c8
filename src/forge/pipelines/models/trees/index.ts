export { randomForestClassifier, randomForestRegressor } from './forest-steps.js';
export { gbdtClassifier, gbdtRegressor } from './gbdt-steps.js';
