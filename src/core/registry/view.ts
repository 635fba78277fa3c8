import type { AliasHistoryRow, AliasRow, FileRow, ModelRow, VersionRow } from './repository.js';
import type { AliasHistoryEntry, ModelDetail, ModelSummary, VersionView } from './schema.js';

export const toVersionView = (v: VersionRow, files: FileRow[]): VersionView => ({
  version: v.version,
  format: v.format,
  size: v.size,
  sha256: v.sha256,
  status: v.status,
  source: v.source,
  lineage: v.lineage,
  metrics: v.metrics,
  external: v.external ?? null,
  created_at: v.createdAt.toISOString(),
  retired_at: v.retiredAt?.toISOString() ?? null,
  files: files.map((f) => ({ path: f.path, size: f.size, sha256: f.sha256 })),
});

export const aliasMap = (rows: AliasRow[]): Record<string, number> =>
  Object.fromEntries(rows.map((a) => [a.alias, a.version]));

export function toModelSummary(
  m: ModelRow,
  extra: {
    count: number;
    latest: VersionRow | undefined;
    aliases: AliasRow[];
    status?: ModelSummary['status'] | null | undefined;
  },
): ModelSummary {
  return {
    id: m.id,
    name: m.name,
    task: m.task,
    description: m.description,
    tags: m.tags,
    visibility: m.visibility,
    owner_id: m.ownerId,
    status: extra.status ?? 'available',
    format: extra.latest?.format ?? null,
    size: extra.latest?.size ?? null,
    source: extra.latest?.source ?? null,
    versions_count: extra.count,
    latest_version: extra.latest?.version ?? null,
    aliases: aliasMap(extra.aliases),
    created_at: m.createdAt.toISOString(),
    updated_at: m.updatedAt.toISOString(),
  };
}

export function toModelDetail(
  m: ModelRow,
  versions: VersionRow[],
  files: FileRow[],
  aliases: AliasRow[],
  status?: ModelSummary['status'] | null,
): ModelDetail {
  const byVersion = new Map<string, FileRow[]>();
  for (const f of files) byVersion.set(f.versionId, [...(byVersion.get(f.versionId) ?? []), f]);
  return {
    ...toModelSummary(m, { count: versions.length, latest: versions.at(-1), aliases, status }),
    versions: versions.map((v) => toVersionView(v, byVersion.get(v.id) ?? [])),
  };
}

export const toHistoryEntry = (h: AliasHistoryRow): AliasHistoryEntry => ({
  id: String(h.id),
  alias: h.alias,
  from_version: h.fromVersion,
  to_version: h.toVersion,
  reason: h.reason,
  actor_id: h.actorId,
  actor_name: h.actorName,
  at: h.at.toISOString(),
});
