export { mlpClassifier, mlpRegressor } from './steps.js';
