import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import { users } from '../hub/tables.js';

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const MODEL_TASKS = [
  'chat',
  'completion',
  'embedding',
  'classification',
  'regression',
  'other',
] as const;
export type ModelTask = (typeof MODEL_TASKS)[number];
export const VISIBILITIES = ['internal', 'private'] as const;
export type Visibility = (typeof VISIBILITIES)[number];

export interface Lineage {
  dataset_version?: string | undefined;
  job_id?: string | undefined;
  parent_version?: number | undefined;
  /** A hyperparameter search's version: `job_id` is the search, this its winning trial's job. */
  trial_job_id?: string | undefined;
}

export const models = pgTable(
  'models',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    /** Null once the owner's account is deleted; admins still manage the model. */
    ownerId: text('owner_id').references(() => users.id, { onDelete: 'set null' }),
    task: text('task', { enum: MODEL_TASKS }).notNull(),
    description: text('description').notNull().default(''),
    tags: jsonb('tags').$type<string[]>().notNull().default([]),
    visibility: text('visibility', { enum: VISIBILITIES }).notNull().default('internal'),
    /**
     * The number the next version gets. Incremented inside the transaction that inserts the version:
     * the row lock serialises concurrent uploads, and a rolled-back upload gives its number back.
     */
    nextVersion: integer('next_version').notNull().default(1),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [uniqueIndex('models_name_lower_idx').on(sql`lower(${t.name})`)],
);

export const modelVersions = pgTable(
  'model_versions',
  {
    id: text('id').primaryKey(),
    modelId: text('model_id')
      .notNull()
      .references(() => models.id, { onDelete: 'cascade' }),
    version: integer('version').notNull(),
    format: text('format').notNull(),
    size: bigint('size', { mode: 'number' }).notNull(),
    /** The file's sha256 for a single file; for several, the sha256 of their sorted manifest. */
    sha256: text('sha256'),
    status: text('status', { enum: ['ready', 'retired'] })
      .notNull()
      .default('ready'),
    source: text('source').notNull().default('upload'),
    lineage: jsonb('lineage').$type<Lineage>().notNull().default({}),
    metrics: jsonb('metrics').$type<Record<string, unknown>>().notNull().default({}),
    /** Provider and remote model of an `external` version. */
    external: jsonb('external').$type<{ provider: string; model: string }>(),
    createdBy: text('created_by'),
    createdAt: ts('created_at').notNull().defaultNow(),
    retiredAt: ts('retired_at'),
  },
  (t) => [uniqueIndex('model_versions_model_version_idx').on(t.modelId, t.version)],
);

export const modelFiles = pgTable(
  'model_files',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    versionId: text('version_id')
      .notNull()
      .references(() => modelVersions.id, { onDelete: 'cascade' }),
    path: text('path').notNull(),
    size: bigint('size', { mode: 'number' }).notNull(),
    sha256: text('sha256').notNull(),
  },
  (t) => [
    uniqueIndex('model_files_version_path_idx').on(t.versionId, t.path),
    // Blob reference counts (model deletion, garbage collection) look files up by digest.
    index('model_files_sha256_idx').on(t.sha256),
  ],
);

export const modelAliases = pgTable(
  'model_aliases',
  {
    modelId: text('model_id')
      .notNull()
      .references(() => models.id, { onDelete: 'cascade' }),
    alias: text('alias').notNull(),
    version: integer('version').notNull(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
    updatedBy: text('updated_by'),
  },
  (t) => [primaryKey({ columns: [t.modelId, t.alias] })],
);

export const aliasHistory = pgTable(
  'model_alias_history',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    modelId: text('model_id')
      .notNull()
      .references(() => models.id, { onDelete: 'cascade' }),
    alias: text('alias').notNull(),
    /** Null when the alias did not exist before this change. */
    fromVersion: integer('from_version'),
    /** Null when the change removed the alias. */
    toVersion: integer('to_version'),
    reason: text('reason').notNull().default(''),
    actorId: text('actor_id'),
    actorName: text('actor_name'),
    at: ts('at').notNull().defaultNow(),
  },
  (t) => [index('model_alias_history_alias_idx').on(t.modelId, t.alias, t.id)],
);

export const DOWNLOAD_STATUSES = [
  'queued',
  'downloading',
  'verifying',
  'succeeded',
  'failed',
  'cancelled',
] as const;
export type DownloadStatus = (typeof DOWNLOAD_STATUSES)[number];

export interface DownloadFile {
  path: string;
  size: number;
  done_bytes: number;
  /** Content sha256 for LFS files; small files are verified by their git blob id instead. */
  sha256: string | null;
  git_oid: string;
}

/** Imports from a Hugging Face hub: durable jobs a restarted process picks up again. */
export const modelDownloads = pgTable(
  'model_downloads',
  {
    id: text('id').primaryKey(),
    status: text('status', { enum: DOWNLOAD_STATUSES }).notNull().default('queued'),
    message: text('message').notNull().default(''),
    repo: text('repo').notNull(),
    revision: text('revision').notNull(),
    commit: text('commit'),
    modelFormat: text('model_format').notNull(),
    /** Registry model the version goes into, and its task when the import creates it. */
    targetName: text('target_name').notNull(),
    task: text('task').notNull(),
    files: jsonb('files').$type<DownloadFile[]>().notNull().default([]),
    bytesDone: bigint('bytes_done', { mode: 'number' }).notNull().default(0),
    bytesTotal: bigint('bytes_total', { mode: 'number' }).notNull().default(0),
    speedBps: bigint('speed_bps', { mode: 'number' }).notNull().default(0),
    etaSeconds: integer('eta_seconds'),
    modelId: text('model_id'),
    version: integer('version'),
    error: jsonb('error').$type<{ code: string; message: string }>(),
    /** The hub token, encrypted; removed as soon as the job finishes. */
    tokenSealed: text('token_sealed'),
    /** repo, commit, format and the selected paths: identical active requests share one job. */
    shareKey: text('share_key').notNull(),
    createdBy: text('created_by').notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
    finishedAt: ts('finished_at'),
  },
  (t) => [
    uniqueIndex('model_downloads_active_share_idx')
      .on(t.shareKey)
      .where(sql`${t.status} in ('queued', 'downloading', 'verifying')`),
    index('model_downloads_owner_idx').on(t.createdBy, t.createdAt),
  ],
);
