export { createInferenceMetrics, decodeRate } from './metrics.js';
export { createUsageRecorder, type InferenceRecord, type UsageRecorder } from './recorder.js';
export {
  createUsageRepository,
  type UsageGroupBy,
  type UsageRepository,
  type UsageSummaryRow,
} from './repository.js';
