import { z } from 'zod';
import { EXPORT_FORMATS } from './export.js';
import { DATASET_FORMATS, DATASET_KINDS, DATASET_VISIBILITIES } from './tables.js';

const COLUMN_TYPES = ['numeric', 'categorical', 'boolean', 'text', 'datetime'] as const;

/** Letters, digits, '.', '_' and '-' (unique ignoring case); names double as ids in URLs. */
export const datasetName = z
  .string()
  .trim()
  .min(1)
  .max(128)
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]*$/,
    "use letters, digits, '.', '_' and '-', starting with a letter or digit",
  );

/** The text fields of a dataset upload (multipart), checked once the parts are read. */
export const createFields = z.strictObject({
  name: datasetName,
  description: z.string().max(10_000).default(''),
  visibility: z.enum(DATASET_VISIBILITIES).default('private'),
});
export type CreateFields = z.infer<typeof createFields>;

export const updateDatasetBody = z.strictObject({
  description: z.string().max(10_000).optional(),
  visibility: z.enum(DATASET_VISIBILITIES).optional(),
});
export type UpdateDatasetInput = z.infer<typeof updateDatasetBody>;

export const listDatasetsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(400).optional(),
  search: z.string().max(200).optional(),
});
export type ListDatasetsQuery = z.infer<typeof listDatasetsQuery>;

export const datasetParams = z.object({ id: z.string().min(1).max(128) });
export const datasetVersionParams = datasetParams.extend({
  version: z.coerce.number().int().min(1).max(2_147_483_647),
});
export const previewQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  version: z.coerce.number().int().min(1).max(2_147_483_647).optional(),
});
export type PreviewQuery = z.infer<typeof previewQuery>;
export const exportQuery = z.object({ format: z.enum(EXPORT_FORMATS).default('csv') });

export const schemaColumn = z
  .object({ name: z.string(), type: z.enum(COLUMN_TYPES), missing: z.number() })
  .meta({ id: 'DatasetColumn' });

const num = z.number().nullable().optional();
export const columnStats = z
  .object({
    name: z.string(),
    type: z.enum(COLUMN_TYPES),
    count: z.number(),
    missing: z.number(),
    distinct: z.number(),
    distinct_exact: z.boolean(),
    min: z.union([z.number(), z.string()]).nullable().optional(),
    max: z.union([z.number(), z.string()]).nullable().optional(),
    mean: num,
    std: num,
    quantiles: z
      .object({ p5: z.number(), p25: z.number(), p50: z.number(), p75: z.number(), p95: z.number() })
      .nullable()
      .optional(),
    quantiles_exact: z.boolean().optional(),
    true_count: z.number().optional(),
    false_count: z.number().optional(),
    top: z.array(z.object({ value: z.string(), count: z.number() })).optional(),
    top_exact: z.boolean().optional(),
    min_length: z.number().optional(),
    max_length: z.number().optional(),
    mean_length: z.number().optional(),
  })
  .meta({ id: 'DatasetColumnStats' });

export const chatStats = z
  .object({
    conversations: z.number(),
    turns: z.object({ total: z.number(), min: z.number(), max: z.number(), mean: z.number() }),
    roles: z.record(z.string(), z.number()),
    with_system: z.number(),
    ending_with_assistant: z.number(),
    content_chars: z.object({ total: z.number(), max: z.number() }),
  })
  .meta({ id: 'DatasetChatStats' });

export const datasetStats = z
  .object({ columns: z.array(columnStats), chat: chatStats.optional() })
  .meta({ id: 'DatasetStats' });

export const versionSummary = z
  .object({
    version: z.number(),
    format: z.enum(DATASET_FORMATS),
    kind: z.enum(DATASET_KINDS),
    size: z.number(),
    sha256: z.string(),
    rows: z.number(),
    column_count: z.number(),
    source_filename: z.string(),
    created_by: z.string().nullable(),
    created_at: z.string(),
  })
  .meta({ id: 'DatasetVersionSummary' });
export type VersionSummary = z.infer<typeof versionSummary>;

export const versionDetail = versionSummary
  .extend({ dataset_id: z.string(), schema: z.array(schemaColumn), stats: datasetStats })
  .meta({ id: 'DatasetVersion' });
export type VersionDetail = z.infer<typeof versionDetail>;

export const datasetSummary = z
  .object({
    id: z.string(),
    name: z.string(),
    description: z.string(),
    owner_id: z.string().nullable(),
    visibility: z.enum(DATASET_VISIBILITIES),
    version_count: z.number(),
    latest_version: versionSummary.nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: 'DatasetSummary' });
export type DatasetSummary = z.infer<typeof datasetSummary>;

export const datasetDetail = datasetSummary
  .extend({
    /** Newest first. */
    versions: z.array(versionSummary),
    /** The latest version's schema and statistics. */
    schema: z.array(schemaColumn),
    stats: datasetStats,
  })
  .meta({ id: 'Dataset' });
export type DatasetDetail = z.infer<typeof datasetDetail>;

/** A new dataset or version: the dataset and the version just stored. */
export const uploadResult = datasetDetail.extend({ version: versionDetail }).meta({ id: 'DatasetUpload' });
export type UploadResult = z.infer<typeof uploadResult>;

export const previewView = z
  .object({
    dataset_id: z.string(),
    version: z.number(),
    columns: z.array(schemaColumn),
    /** At most `limit` rows from the start of the file; long values are cut. */
    rows: z.array(z.record(z.string(), z.unknown())),
    total_rows: z.number(),
  })
  .meta({ id: 'DatasetPreview' });
export type PreviewView = z.infer<typeof previewView>;

export const deleteResult = z.object({ id: z.string(), deleted: z.literal(true), blobs_freed: z.number() });
