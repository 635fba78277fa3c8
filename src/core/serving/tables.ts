import { bigserial, index, integer, jsonb, pgTable, real, text, timestamp } from 'drizzle-orm/pg-core';
import { users } from '../../hub/tables.js';
import { models } from '../tables.js';

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

/**
 * A model's stored generation parameters: only the fields its owner set, so a change of Polar's
 * defaults reaches every model that did not override them. No row: all defaults.
 */
export const modelParameters = pgTable('model_parameters', {
  modelId: text('model_id')
    .primaryKey()
    .references(() => models.id, { onDelete: 'cascade' }),
  parameters: jsonb('parameters').$type<Record<string, unknown>>().notNull().default({}),
  /** Incremented by every update and reset (never reused, so a stale If-Match cannot match again). */
  version: integer('version').notNull().default(1),
  updatedAt: ts('updated_at').notNull().defaultNow(),
  updatedBy: text('updated_by').references(() => users.id, { onDelete: 'set null' }),
});

export const INFERENCE_STATUSES = ['ok', 'error', 'cancelled', 'rejected'] as const;
export type InferenceStatus = (typeof INFERENCE_STATUSES)[number];

/**
 * One row per inference request, for usage reports and budgets. Model, user and key are plain
 * values, not foreign keys: the history must outlive deleted models, users and keys.
 */
export const inferenceRecords = pgTable(
  'inference_records',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    at: ts('at').notNull().defaultNow(),
    requestId: text('request_id').notNull(),
    modelId: text('model_id').notNull(),
    /** The name at the time of the request; a later rename does not rewrite history. */
    modelName: text('model_name').notNull(),
    /** Null when the request was refused before a version was chosen. */
    version: integer('version'),
    endpoint: text('endpoint').notNull(),
    userId: text('user_id'),
    keyId: text('key_id'),
    status: text('status', { enum: INFERENCE_STATUSES }).notNull(),
    errorCode: text('error_code'),
    tokensIn: integer('tokens_in').notNull().default(0),
    tokensOut: integer('tokens_out').notNull().default(0),
    /** Rows of a predict request (0 for generation and embeddings). */
    rows: integer('rows').notNull().default(0),
    latencyMs: real('latency_ms').notNull(),
    /** Time to the first generated token; null for non-streaming work and failures before it. */
    ttftMs: real('ttft_ms'),
  },
  (t) => [
    index('inference_records_at_idx').on(t.at),
    index('inference_records_model_at_idx').on(t.modelId, t.at),
    index('inference_records_user_at_idx').on(t.userId, t.at),
  ],
);
