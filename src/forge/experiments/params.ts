import { flattenParams } from './flatten.js';

/**
 * A job spec's params with each step's config as the trainer will read it, defaults filled in, so
 * a run that left `learning_rate` at its default compares with one that set it. Specs the step
 * registry does not know (external trainers, test steps) keep their configs as sent.
 */
export async function paramsOf(spec: Record<string, unknown>): Promise<Record<string, unknown>> {
  const steps = spec.steps;
  if (!Array.isArray(steps) || steps.length === 0) return flattenParams(spec);
  try {
    // The step registry loads with the model code behind it; the first dispatch loaded it already.
    const { builtinSteps, resolveSpec } = await import('../pipelines/index.js');
    const resolved = resolveSpec(
      { target: spec.target, task: spec.task, features: spec.features, steps, evaluation: spec.evaluation },
      builtinSteps,
    );
    const configs = new Map<number, unknown>();
    for (const t of [...resolved.transforms, resolved.model]) configs.set(t.index, t.config);
    const filled = steps.map((s, i) =>
      configs.has(i) ? { ...(s as Record<string, unknown>), config: configs.get(i) } : s,
    );
    return flattenParams({ ...spec, steps: filled });
  } catch {
    return flattenParams(spec);
  }
}
