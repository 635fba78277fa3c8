import { z } from 'zod';
import { MODEL_TASKS } from '../../core/tables.js';
import { pageQuery } from '../../platform/http/pagination.js';
import { ENV_NAME, PLACEHOLDERS, RESERVED_ENV, unknownPlaceholders } from './contract.js';
import { TRAINER_OUTPUT_FORMATS } from './tables.js';

export const trainerName = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "use letters, digits, '.', '_' and '-'");

export const trainerParams = z.object({ trainer_id: z.string().min(1).max(100) });
export const listTrainersQuery = pageQuery;

const arg = z
  .string()
  .max(4000)
  .refine((a) => !a.includes('\0'), 'no NUL characters')
  .superRefine((a, ctx) => {
    const unknown = unknownPlaceholders(a);
    if (unknown.length > 0)
      ctx.addIssue({
        code: 'custom',
        message: `unknown placeholder {${unknown[0]}}; use ${PLACEHOLDERS.map((p) => `{${p}}`).join(', ')}`,
      });
  });

const envMap = z
  .record(
    z
      .string()
      .regex(ENV_NAME, 'a variable name such as HF_TOKEN')
      .refine((k) => !RESERVED_ENV.test(k), 'POLAR_* variables are set by Polar itself'),
    z.string().max(10_000),
  )
  .refine((m) => Object.keys(m).length <= 50, 'at most 50 variables');

const fields = {
  description: z.string().max(2000),
  /** An absolute path or a program name found on the worker's PATH; never run through a shell. */
  command: z
    .string()
    .min(1)
    .max(1000)
    .refine((c) => !c.includes('\0') && c.trim() === c, 'a program path without surrounding spaces'),
  args: z.array(arg).max(100),
  /** Variables the trainer gets, with their values (stored encrypted, shown masked). */
  env: envMap,
  output_format: z.enum(TRAINER_OUTPUT_FORMATS),
  task: z.enum(MODEL_TASKS).nullable(),
  timeout_seconds: z
    .number()
    .int()
    .min(1)
    .max(7 * 24 * 3600),
};

export const createTrainerBody = z
  .strictObject({
    name: trainerName,
    description: fields.description.default(''),
    command: fields.command,
    args: fields.args.default([]),
    env: fields.env.default({}),
    output_format: fields.output_format.default('auto'),
    task: fields.task.default(null),
    timeout_seconds: fields.timeout_seconds.default(6 * 3600),
  })
  .meta({ id: 'CreateTrainer' });
export type CreateTrainerBody = z.infer<typeof createTrainerBody>;

/** A change: absent fields stay; `env` replaces the whole set, a value sent back as its mask keeps it. */
export const updateTrainerBody = z
  .strictObject({
    name: trainerName.optional(),
    description: fields.description.optional(),
    command: fields.command.optional(),
    args: fields.args.optional(),
    env: fields.env.optional(),
    output_format: fields.output_format.optional(),
    task: fields.task.optional(),
    timeout_seconds: fields.timeout_seconds.optional(),
  })
  .meta({ id: 'UpdateTrainer' });
export type UpdateTrainerBody = z.infer<typeof updateTrainerBody>;

/** Admins see everything (environment values masked); others see what they need to choose one. */
export const trainerView = z
  .object({
    id: z.string(),
    name: z.string(),
    description: z.string(),
    output_format: z.enum(TRAINER_OUTPUT_FORMATS),
    task: z.enum(MODEL_TASKS).nullable(),
    timeout_seconds: z.number(),
    command: z.string().optional().describe('Admins only'),
    args: z.array(z.string()).optional().describe('Admins only'),
    env: z.record(z.string(), z.string()).optional().describe('Admins only; values masked'),
    created_by: z.string().nullable().optional().describe('Admins only'),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: 'Trainer' });
export type TrainerView = z.infer<typeof trainerView>;
