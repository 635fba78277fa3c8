import type { StepChecker } from '../jobs/ports.js';
import type { JobRegistration } from '../jobs/register.js';
import { executeTrainer } from '../workers/executor.js';
import type { TrainerHooks } from './index.js';

/**
 * Sends each job to the machinery its spec asks for: pipeline steps to the step check, the
 * child-process trainer and the polar-tabular registration; a named external trainer to the
 * trainers' hooks. Without hooks (a composition that has no trainers), naming one is refused.
 */
export function byTrainerSpec(
  hooks: TrainerHooks | undefined,
  base: { checkSteps: StepChecker; registration: JobRegistration },
) {
  const checkSteps: StepChecker = async (spec) => {
    if (!spec.trainer) return base.checkSteps(spec);
    return hooks
      ? hooks.check(spec)
      : [{ path: 'trainer', message: 'external trainers are not available here' }];
  };
  const registration: JobRegistration = {
    existing: base.registration.existing,
    register: (ctx, input) =>
      input.spec.trainer && hooks ? hooks.register(ctx, input) : base.registration.register(ctx, input),
  };
  const execute: typeof executeTrainer = (opts) =>
    opts.job.spec.trainer && hooks ? hooks.execute(opts) : executeTrainer(opts);
  return { checkSteps, registration, execute };
}
