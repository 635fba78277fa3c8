import { z } from 'zod';
import { modelName } from '../../core/registry/schema.js';
import { experimentName } from '../experiments/name.js';

/**
 * A training job's spec as clients send it to POST /training/dispatch. Steps are checked here for
 * shape only; each step's own config schema (the pipeline step registry) is applied by the service,
 * so a bad `max_depth` is refused at dispatch with the field named, before a job exists.
 */
const columnName = z.string().min(1).max(200);

export const stepSpec = z.strictObject({
  type: z
    .string()
    .min(1)
    .max(100)
    .regex(/^[a-z][a-z0-9_]*$/, 'a step type such as impute or gbdt_classifier'),
  config: z.record(z.string(), z.unknown()).default({}),
});
export type StepSpec = z.infer<typeof stepSpec>;

export const trainingSpec = z
  .strictObject({
    name: z
      .string()
      .trim()
      .min(1)
      .max(100)
      .regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]*$/, "use letters, digits, spaces, '.', '_' and '-'"),
    description: z.string().max(2000).default(''),
    /** A dataset's id or name, and one of its immutable versions. */
    dataset_id: z.string().min(1).max(200),
    dataset_version: z.number().int().min(1),
    target: columnName.optional(),
    task: z.enum(['classification', 'regression', 'clustering']),
    /** Columns the model may use; all but the target when absent. */
    features: z.array(columnName).min(1).max(10_000).optional(),
    /** The pipeline to fit; absent when the job runs a registered external trainer instead. */
    steps: z.array(stepSpec).max(50).default([]),
    /**
     * An external trainer an admin registered (forge/trainers), by name: it runs instead of pipeline
     * steps, with `params` written to the JSON file it reads. A job can only name one; the command,
     * arguments and environment are the trainer's and cannot be set here.
     */
    trainer: z
      .string()
      .min(1)
      .max(100)
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'a registered trainer name')
      .optional(),
    params: z.record(z.string(), z.unknown()).optional(),
    evaluation: z
      .strictObject({
        /** Share of rows held out to measure the trained pipeline; 0 trains on every row. */
        test_size: z.number().min(0).max(0.9).default(0.2),
        seed: z
          .number()
          .int()
          .min(0)
          .max(2 ** 31 - 1)
          .default(42),
        /** Keep class proportions in both parts (classification only). */
        stratify: z.boolean().default(true),
      })
      .prefault({}),
    resources: z
      .strictObject({
        /** Longest one attempt may run; the node's default (forge/workers) when absent. */
        timeout_seconds: z
          .number()
          .int()
          .min(1)
          .max(7 * 24 * 3600)
          .optional(),
        /** Attempts in all, first included; the node's default when absent. */
        max_attempts: z.number().int().min(1).max(10).optional(),
        /** Heap limit of the trainer process. */
        memory_mb: z.number().int().min(64).max(65_536).optional(),
      })
      .prefault({}),
    /** Higher runs first (-100..100); equal priorities run in dispatch order. */
    priority: z.number().int().min(-100).max(100).default(0),
    /** The model the trained pipeline becomes a version of; created when absent. Defaults to `name`. */
    register_as: modelName.optional(),
    /** The experiment whose run the job is (forge/experiments); `default` when absent, made on first use. */
    experiment: experimentName.optional(),
    /**
     * false: train and evaluate only, registering no version; the fitted pipeline stays in the job's
     * output folder for whoever dispatched it (a hyperparameter search registers its best trial's).
     */
    register: z.boolean().optional(),
  })
  .superRefine((s, ctx) => {
    if (s.trainer && s.steps.length > 0)
      ctx.addIssue({ code: 'custom', path: ['steps'], message: 'a job runs either steps or a trainer' });
    if (!s.trainer && s.steps.length === 0)
      ctx.addIssue({ code: 'custom', path: ['steps'], message: 'give at least one step, or a trainer' });
    if (!s.trainer && s.params)
      ctx.addIssue({ code: 'custom', path: ['params'], message: 'params go to a trainer; name one' });
    if (!s.trainer && s.task !== 'clustering' && !s.target)
      ctx.addIssue({ code: 'custom', path: ['target'], message: `a ${s.task} job needs a target column` });
    if (s.target && s.features?.includes(s.target))
      ctx.addIssue({ code: 'custom', path: ['features'], message: 'the target cannot also be a feature' });
    if (s.register_as === undefined && !modelName.safeParse(s.name).success)
      ctx.addIssue({
        code: 'custom',
        path: ['register_as'],
        message: 'give register_as: the job name is not a valid model name',
      });
  })
  .meta({ id: 'TrainingSpec' });
export type TrainingSpec = z.infer<typeof trainingSpec>;

/** The registry model the job's result goes into. */
export const targetModelName = (s: TrainingSpec): string => s.register_as ?? s.name.trim();
