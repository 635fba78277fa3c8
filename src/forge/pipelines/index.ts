import type { RuntimeRegistry } from '../../core/runtimes/registry.js';

export { isPermanentPipelineError, PIPELINE_ERROR_CODES, PipelineError, StepError } from './errors.js';
export type { FeatureSchema } from './features.js';
export {
  BUILTIN_STEPS,
  builtinSteps,
  createStepRegistry,
  type StepInfo,
  type StepRegistry,
} from './registry.js';
export { type PipelineSpec, pipelineSpec, resolveSpec } from './spec.js';
export { SPLIT_STEP, splitConfig, trainTestSplit } from './split.js';
export { type PipelineMetrics, type TrainResult, trainPipeline } from './train.js';

/**
 * Plugs Forge's `polar-tabular` runtime into Core's runtime registry; it replaces Core's built-in
 * entry for that format, which knows no step types.
 */
export function registerTabularRuntime(core: { runtimes: RuntimeRegistry }): void {
  core.runtimes.register({
    name: 'tabular',
    formats: ['polar-tabular'],
    module: new URL('./runtime.js', import.meta.url).href,
  });
}
