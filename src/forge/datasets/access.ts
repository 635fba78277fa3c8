import type { Logger } from 'pino';
import type { ArtifactStore } from '../../core/artifacts/store.js';
import type { AuditService } from '../../hub/audit/service.js';
import type { RequestContext } from '../../hub/auth/principal.js';
import type { SettingsReader } from '../../hub/settings/registry.js';
import type { EventBus } from '../../platform/events/bus.js';
import { datasetNotFound, datasetVersionNotFound, notDatasetOwner } from './errors.js';
import type { IngestLimits } from './ingest.js';
import type { DatasetRepository, DatasetRow, DatasetVersionRow } from './repository.js';
import { datasetSettings } from './settings.js';

export interface DatasetDeps {
  repo: DatasetRepository;
  store: ArtifactStore;
  /**
   * Deletes a blob only while nothing (model file or dataset version) names it, under the blob's
   * lock: the registry's repository, which knows every holder.
   */
  blobs: { removeIfUnreferenced(sha256: string, remove: () => Promise<void>): Promise<boolean> };
  audit: AuditService;
  bus: EventBus;
  settings: SettingsReader;
  log: Logger;
  /** Where `fileFor` lays out version files for training processes. */
  filesDir: string;
  now?: () => Date;
}

// Events about a private dataset whose owner is gone go to admins only: no user has this id.
const ADMINS_ONLY = '-';

export const isAdmin = (ctx: RequestContext) => ctx.principal?.role === 'admin';

/** The upload limits in force now (settings change without a restart). */
export function uploadLimits(settings: SettingsReader): IngestLimits {
  const s = settings.get(datasetSettings);
  return { maxBytes: s.max_upload_mb * 1024 * 1024, maxRows: s.max_rows, maxColumns: s.max_columns };
}

/**
 * Who may see and change a dataset: a private one only its owner and admins (others get 404, as if
 * it did not exist), a shared one everybody with datasets:read; changes only the owner and admins.
 */
export function createDatasetAccess(deps: Pick<DatasetDeps, 'repo' | 'bus'>) {
  const mayRead = (ctx: RequestContext, d: DatasetRow) =>
    d.visibility === 'shared' || isAdmin(ctx) || d.ownerId === ctx.principal?.userId;
  return {
    async readable(ctx: RequestContext, idOrName: string): Promise<DatasetRow> {
      const d = await deps.repo.byIdOrName(idOrName);
      if (!d || !mayRead(ctx, d)) throw datasetNotFound();
      return d;
    },
    async writable(ctx: RequestContext, idOrName: string): Promise<DatasetRow> {
      const d = await this.readable(ctx, idOrName);
      if (!isAdmin(ctx) && d.ownerId !== ctx.principal?.userId) throw notDatasetOwner();
      return d;
    },
    /** A version by number, or the latest one. */
    async version(d: DatasetRow, version?: number): Promise<DatasetVersionRow> {
      const v = await deps.repo.version(d.id, version);
      if (!v) throw datasetVersionNotFound();
      return v;
    },
    /** Publishes on `datasets`, to those who may see the dataset. */
    async publish(d: DatasetRow, type: string, data: Record<string, unknown> = {}) {
      await deps.bus.publish({
        topic: 'datasets',
        type,
        data: { dataset_id: d.id, name: d.name, ...data },
        userId: d.visibility === 'private' ? (d.ownerId ?? ADMINS_ONLY) : null,
      });
    },
  };
}
export type DatasetAccess = ReturnType<typeof createDatasetAccess>;
