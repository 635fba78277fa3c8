import { sql } from 'drizzle-orm';
import { integer, jsonb, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { MODEL_TASKS } from '../../core/tables.js';
import { users } from '../../hub/tables.js';

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

/** What a trainer's output directory must hold; `auto` lets the registry detect it from the files. */
export const TRAINER_OUTPUT_FORMATS = [
  'auto',
  'onnx',
  'hf-onnx',
  'gguf',
  'safetensors',
  'polar-tabular',
  'other',
] as const;
export type TrainerOutputFormat = (typeof TRAINER_OUTPUT_FORMATS)[number];

/**
 * External trainers an admin approved: a command and its argument template, run for a training job
 * under the contract in contract.ts. Only admins see the command, the arguments and the environment;
 * everyone who may train can name a trainer in a job. Environment values are sealed (AES-GCM, bound
 * to the trainer's id and the variable's name) because they are typically tokens.
 */
export const trainers = pgTable(
  'trainers',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    description: text('description').notNull().default(''),
    /** An absolute path or a name looked up on the worker's PATH; run without a shell. */
    command: text('command').notNull(),
    /** Arguments with {placeholders} (contract.ts) filled in per job. */
    args: jsonb('args').$type<string[]>().notNull().default([]),
    /** Variable name → sealed value. */
    env: jsonb('env').$type<Record<string, string>>().notNull().default({}),
    outputFormat: text('output_format', { enum: TRAINER_OUTPUT_FORMATS }).notNull().default('auto'),
    /** Task of the models it trains (a new model gets it); the job's task when null. */
    task: text('task', { enum: MODEL_TASKS }),
    /** Longest one run may take, whatever the job's own timeout. */
    timeoutSeconds: integer('timeout_seconds').notNull(),
    createdBy: text('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [uniqueIndex('trainers_name_lower_idx').on(sql`lower(${t.name})`)],
);
