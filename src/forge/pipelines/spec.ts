import { z } from 'zod';
import type { FieldError } from '../../platform/errors.js';
import { PipelineError } from './errors.js';
import type { StepRegistry } from './registry.js';
import { SPLIT_STEP, type SplitConfig, splitConfig } from './split.js';
import type { ModelStep, Task, TransformStep } from './types.js';

/** What to train: the target, the task, the steps in order (a model last) and the evaluation split. */
export const pipelineSpec = z
  .object({
    target: z.string().min(1).optional(),
    task: z.enum(['classification', 'regression', 'clustering']),
    /** Columns the pipeline may use; every column but the target when absent. */
    features: z.array(z.string().min(1)).min(1).optional(),
    steps: z
      .array(z.object({ type: z.string().min(1), config: z.unknown().optional() }))
      .min(1)
      .max(100),
    evaluation: splitConfig.optional(),
  })
  .superRefine((s, ctx) => {
    if (s.task !== 'clustering' && !s.target)
      ctx.addIssue({
        code: 'custom',
        path: ['target'],
        message: `a ${s.task} pipeline needs a target column`,
      });
    if (s.target && s.features?.includes(s.target))
      ctx.addIssue({ code: 'custom', path: ['features'], message: 'the target cannot also be a feature' });
  });
export type PipelineSpec = z.input<typeof pipelineSpec>;

export interface ConfiguredStep<S> {
  step: S;
  config: unknown;
  /** Position in the spec's step list, for error paths. */
  index: number;
}

export interface ResolvedSpec {
  target?: string | undefined;
  task: Task;
  features?: string[] | undefined;
  transforms: ConfiguredStep<TransformStep>[];
  model: ConfiguredStep<ModelStep>;
  split: SplitConfig;
}

/** `['steps', 1, 'config', 'alpha']` → `steps[1].config.alpha`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (s, k) => (typeof k === 'number' ? `${s}[${k}]` : s ? `${s}.${String(k)}` : String(k)),
    '',
  );
}

const issues = (error: z.ZodError, prefix: PropertyKey[] = []): FieldError[] =>
  error.issues.map((i) => ({ path: fieldPath([...prefix, ...i.path]), message: i.message }));

/**
 * Checks a spec against the step registry: shapes, every step's config against its own schema, step
 * kinds and order, and the model's task. Every problem is reported at once, each at its field.
 */
export function resolveSpec(input: unknown, registry: StepRegistry): ResolvedSpec {
  const parsed = pipelineSpec.safeParse(input);
  if (!parsed.success)
    throw new PipelineError('invalid_pipeline_spec', 'the pipeline spec is invalid', {
      errors: issues(parsed.error),
    });
  const spec = parsed.data;
  const errors: FieldError[] = [];
  const transforms: ConfiguredStep<TransformStep>[] = [];
  let model: ConfiguredStep<ModelStep> | undefined;
  let split: SplitConfig | undefined;
  const known = registry
    .list()
    .map((s) => s.type)
    .join(', ');
  const last = spec.steps.length - 1;
  spec.steps.forEach((s, index) => {
    if (s.type === SPLIT_STEP) {
      const c = splitConfig.safeParse(s.config ?? {});
      if (!c.success) errors.push(...issues(c.error, ['steps', index, 'config']));
      else if (split)
        errors.push({ path: `steps[${index}].type`, message: 'only one train_test_split step' });
      else split = c.data;
      return;
    }
    const step = registry.get(s.type);
    if (!step) {
      errors.push({
        path: `steps[${index}].type`,
        message: `unknown step type '${s.type}' (known: ${known})`,
      });
      return;
    }
    const c = step.config.safeParse(s.config ?? {});
    if (!c.success) {
      errors.push(...issues(c.error, ['steps', index, 'config']));
      return;
    }
    if (step.kind === 'transform') {
      if (index === last)
        errors.push({ path: `steps[${index}].type`, message: 'the last step must be a model' });
      else if (model)
        errors.push({
          path: `steps[${index}].type`,
          message: `'${s.type}' comes after the model; the model is last`,
        });
      transforms.push({ step, config: c.data, index });
      return;
    }
    if (model)
      errors.push({ path: `steps[${index}].type`, message: 'a pipeline has exactly one model step' });
    else if (!step.tasks.includes(spec.task))
      errors.push({
        path: `steps[${index}].type`,
        message: `'${s.type}' does not do ${spec.task} (it does ${step.tasks.join(', ')})`,
      });
    model = { step, config: c.data, index };
  });
  if (!model && !errors.length)
    errors.push({ path: 'steps', message: 'the pipeline needs a model step last' });
  if (errors.length || !model)
    throw new PipelineError('invalid_pipeline_spec', 'the pipeline spec is invalid', { errors });
  return {
    target: spec.target,
    task: spec.task,
    features: spec.features,
    transforms,
    model,
    // A train_test_split step, when given, is the more specific of the two ways to set the split.
    split: split ?? spec.evaluation ?? splitConfig.parse({}),
  };
}
