import type { DatasetStats } from './profile/index.js';
import type { DatasetRow, DatasetVersionRow, VersionSummaryRow } from './repository.js';
import type { DatasetDetail, DatasetSummary, VersionDetail, VersionSummary } from './schema.js';

export const toVersionSummary = (v: VersionSummaryRow): VersionSummary => ({
  version: v.version,
  format: v.format,
  kind: v.kind,
  size: v.size,
  sha256: v.sha256,
  rows: v.rows,
  column_count: v.columns.length,
  source_filename: v.sourceFilename,
  created_by: v.createdBy,
  created_at: v.createdAt.toISOString(),
});

export const toVersionDetail = (v: DatasetVersionRow): VersionDetail => ({
  ...toVersionSummary(v),
  dataset_id: v.datasetId,
  schema: v.columns,
  stats: v.stats as unknown as DatasetStats,
});

export const toDatasetSummary = (
  d: DatasetRow,
  latest: VersionSummaryRow | undefined,
  count: number,
): DatasetSummary => ({
  id: d.id,
  name: d.name,
  description: d.description,
  owner_id: d.ownerId,
  visibility: d.visibility,
  version_count: count,
  latest_version: latest ? toVersionSummary(latest) : null,
  created_at: d.createdAt.toISOString(),
  updated_at: d.updatedAt.toISOString(),
});

/** `versions` newest first; `latest` is the first of them with its statistics. */
export const toDatasetDetail = (
  d: DatasetRow,
  versions: VersionSummaryRow[],
  latest: DatasetVersionRow | undefined,
): DatasetDetail => ({
  ...toDatasetSummary(d, versions[0], versions.length),
  versions: versions.map(toVersionSummary),
  schema: latest?.columns ?? [],
  stats: (latest?.stats as unknown as DatasetStats | undefined) ?? { columns: [] },
});
