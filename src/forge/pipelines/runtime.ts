import type { PipelineCompiler, TabularPipeline } from '../../core/runtimes/tabular/contract.js';
import { createCompiledTabularRuntime } from '../../core/runtimes/tabular/create.js';
import { RuntimeError, type RuntimeModule } from '../../core/runtimes/types.js';
import { StepError } from './errors.js';
import { type FittedPipeline, formatOutput, type Label, runPipeline } from './fitted.js';
import { builtinSteps, type StepRegistry } from './registry.js';
import { COLUMN_TYPES, rowsToFrame } from './rows.js';
import type { ModelStep, TransformStep } from './types.js';

const artifact = (message: string) => new RuntimeError('invalid_artifact', message, 422);

/**
 * A pipeline.json's steps bound to Forge's: each step type is looked up in the registry and its
 * params checked with the step's own schema.
 */
export function fittedFromPipeline(pipeline: TabularPipeline, registry: StepRegistry): FittedPipeline {
  for (const f of pipeline.features)
    if (!COLUMN_TYPES.includes(f.type as never))
      throw artifact(`feature '${f.name}' has type '${f.type}', which is not a column type`);
  const last = pipeline.steps.length - 1;
  const steps = pipeline.steps.map((s, i) => {
    const step = registry.get(s.type);
    if (!step)
      throw new RuntimeError(
        'unknown_step',
        `step ${i + 1} has type '${s.type}', which no step provides`,
        422,
      );
    if ((i === last) !== (step.kind === 'model'))
      throw artifact(`step ${i + 1} ('${s.type}'): a pipeline is transforms, then one model last`);
    if (step.kind === 'model' && !step.tasks.includes(pipeline.task))
      throw artifact(`step ${i + 1} ('${s.type}') does not do ${pipeline.task}`);
    const parsed = step.params ? step.params.safeParse(s.params) : { success: true as const, data: s.params };
    if (!parsed.success)
      throw artifact(`step ${i + 1} ('${s.type}'): params are invalid: ${parsed.error.issues[0]?.message}`);
    return { step, params: parsed.data };
  });
  if (pipeline.task === 'classification' && !pipeline.labels?.length)
    throw artifact('a classification pipeline needs its labels');
  return {
    task: pipeline.task,
    labels: pipeline.labels as Label[] | undefined,
    transforms: steps.slice(0, -1) as { step: TransformStep; params: unknown }[],
    model: steps[last] as { step: ModelStep; params: unknown },
  };
}

/** Compiles each pipeline once, at load; predict then turns rows into a frame and runs the steps. */
export function compilePipeline(registry: StepRegistry): PipelineCompiler {
  return (pipeline) => {
    const fitted = fittedFromPipeline(pipeline, registry);
    return {
      predict(rows) {
        const frame = rowsToFrame(rows, pipeline.features);
        try {
          return formatOutput(runPipeline(frame, fitted), fitted);
        } catch (e) {
          // A missing value the pipeline cannot fill is the caller's to fix; anything else is the file's.
          if (e instanceof StepError)
            throw new RuntimeError(
              e.code === 'missing_values' ? 'invalid_input' : e.code,
              e.message,
              e.code === 'missing_values' ? 400 : 422,
            );
          throw e;
        }
      },
    };
  };
}

/** Forge's `polar-tabular` runtime: Core's tabular loader over Forge's steps. */
export const runtime: RuntimeModule = createCompiledTabularRuntime(compilePipeline(builtinSteps));
