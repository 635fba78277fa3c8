import type { FieldError } from '../../platform/errors.js';
import type { StepChecker } from './ports.js';

/**
 * Checks a spec's steps with the pipeline step registry the trainer will use, so an unknown step
 * or a bad config is a 400 at dispatch naming the field (`steps.3.config.max_depth`), not a failed
 * job later. The registry (and the model code behind it) is loaded on the first dispatch only.
 */
export const pipelineStepChecker: StepChecker = async (spec) => {
  const { builtinSteps, PipelineError, resolveSpec } = await import('../pipelines/index.js');
  try {
    resolveSpec(
      {
        target: spec.target,
        task: spec.task,
        features: spec.features,
        steps: spec.steps,
        evaluation: spec.evaluation,
      },
      builtinSteps,
    );
    return [];
  } catch (err) {
    if (!(err instanceof PipelineError)) throw err;
    const errors: FieldError[] = err.errors ?? [{ path: 'steps', message: err.message }];
    // The pipeline names fields as steps[3].config.x; request paths read steps.3.config.x.
    return errors.map((e) => ({ path: e.path.replace(/\[(\d+)\]/g, '.$1'), message: e.message }));
  }
};
