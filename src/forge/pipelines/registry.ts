import { z } from 'zod';
import { MODEL_STEPS } from './models/index.js';
import { SPLIT_STEP, splitConfig } from './split.js';
import { TRANSFORM_STEPS } from './steps/index.js';
import type { Step, Task } from './types.js';

/** What the API and Studio show of a step type: enough to build its config form. */
export interface StepInfo {
  type: string;
  kind: 'transform' | 'model' | 'split';
  description: string;
  /** Model steps: the tasks they serve. */
  tasks?: Task[] | undefined;
  /** JSON Schema of the config as a client sends it (defaults may be left out). */
  config_schema: Record<string, unknown>;
}

export interface StepRegistry {
  get(type: string): Step | undefined;
  /** Every step type, the train/test split first, then in registration order. */
  list(): StepInfo[];
}

const jsonSchema = (schema: z.ZodType): Record<string, unknown> => {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
  return rest;
};

const SPLIT_INFO = {
  type: SPLIT_STEP,
  kind: 'split',
  description:
    'Holds out part of the rows to measure the trained pipeline (same as the spec’s evaluation); not part of the served pipeline.',
  config: splitConfig,
} as const;

/**
 * Step type → step. The trainer and the tabular runtime both look steps up here, so a step added to
 * the lists it is built from is trainable, servable and listed without a change elsewhere.
 */
export function createStepRegistry(steps: readonly Step[]): StepRegistry {
  const byType = new Map<string, Step>();
  for (const s of steps) {
    if (s.type === SPLIT_STEP || byType.has(s.type))
      throw new Error(`step type '${s.type}' is registered twice`);
    byType.set(s.type, s);
  }
  let infos: StepInfo[] | undefined;
  return {
    get: (type) => byType.get(type),
    list() {
      infos ??= [SPLIT_INFO, ...steps].map((s) => ({
        type: s.type,
        kind: s.kind,
        description: s.description,
        ...('tasks' in s ? { tasks: [...s.tasks] } : {}),
        config_schema: jsonSchema(s.config),
      }));
      return infos;
    },
  };
}

export const BUILTIN_STEPS: readonly Step[] = [...TRANSFORM_STEPS, ...MODEL_STEPS];

/** Forge's steps, as the trainer and the `polar-tabular` runtime use them. */
export const builtinSteps: StepRegistry = createStepRegistry(BUILTIN_STEPS);
