import { sql } from 'drizzle-orm';
import { bigint, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { users } from '../../hub/tables.js';
import type { ColumnType } from '../frame/frame.js';

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const DATASET_VISIBILITIES = ['private', 'shared'] as const;
export type DatasetVisibility = (typeof DATASET_VISIBILITIES)[number];
export const DATASET_FORMATS = ['csv', 'json', 'jsonl'] as const;
export type DatasetFormat = (typeof DATASET_FORMATS)[number];
export const DATASET_KINDS = ['tabular', 'chat'] as const;
export type DatasetKind = (typeof DATASET_KINDS)[number];

/** One column of a version's inferred schema, in file order. */
export interface SchemaColumn {
  name: string;
  type: ColumnType;
  /** Rows where the value is absent, empty or null. */
  missing: number;
}

/**
 * Datasets. Names are unique across the whole node (case-insensitively), as model names are: a
 * dataset is addressed by id or by name in the API and in training specs, and a name must say one
 * thing whoever reads it.
 */
export const datasets = pgTable(
  'datasets',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    description: text('description').notNull().default(''),
    /** Null once the owner's account is deleted; admins still manage the dataset. */
    ownerId: text('owner_id').references(() => users.id, { onDelete: 'set null' }),
    visibility: text('visibility', { enum: DATASET_VISIBILITIES }).notNull().default('private'),
    /**
     * The number the next version gets, incremented in the transaction that inserts the version: the
     * row lock serialises concurrent uploads and a rolled-back upload gives its number back.
     */
    nextVersion: integer('next_version').notNull().default(1),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('datasets_name_lower_idx').on(sql`lower(${t.name})`),
    index('datasets_owner_idx').on(t.ownerId),
  ],
);

/** Immutable versions: one stored file each, with what was inferred from it. */
export const datasetVersions = pgTable(
  'dataset_versions',
  {
    id: text('id').primaryKey(),
    datasetId: text('dataset_id')
      .notNull()
      .references(() => datasets.id, { onDelete: 'cascade' }),
    version: integer('version').notNull(),
    format: text('format', { enum: DATASET_FORMATS }).notNull(),
    kind: text('kind', { enum: DATASET_KINDS }).notNull(),
    /** The file's digest: its blob's name in the artifact store. */
    sha256: text('sha256').notNull(),
    size: bigint('size', { mode: 'number' }).notNull(),
    rows: bigint('rows', { mode: 'number' }).notNull(),
    columns: jsonb('columns').$type<SchemaColumn[]>().notNull(),
    stats: jsonb('stats').$type<Record<string, unknown>>().notNull().default({}),
    /** The first rows as parsed, for display without reading the file. */
    preview: jsonb('preview').$type<Record<string, unknown>[]>().notNull().default([]),
    sourceFilename: text('source_filename').notNull().default(''),
    createdBy: text('created_by'),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('dataset_versions_dataset_version_idx').on(t.datasetId, t.version),
    // Blob reference checks (deletion, garbage collection) look versions up by digest.
    index('dataset_versions_sha256_idx').on(t.sha256),
  ],
);
