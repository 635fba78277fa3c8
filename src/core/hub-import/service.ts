import { createHash } from 'node:crypto';
import { mkdir, statfs } from 'node:fs/promises';
import { z } from 'zod';
import type { AuditService } from '../../hub/audit/service.js';
import type { RequestContext } from '../../hub/auth/principal.js';
import { newId } from '../../hub/auth/tokens.js';
import { encrypt } from '../../platform/crypto/keys.js';
import { ConflictError, NotFoundError } from '../../platform/errors.js';
import { decodeCursor, encodeCursor, type Page } from '../../platform/http/pagination.js';
import { safeRelativePath } from '../artifacts/paths.js';
import { HubClient, type HubClientOptions } from './client.js';
import { InsufficientDiskSpaceError } from './errors.js';
import { selectFiles } from './file-filter.js';
import type { DownloadRunner } from './jobs.js';
import { ACTIVE, type DownloadRepository, type DownloadRow } from './repository.js';
import { type DownloadBody, type DownloadJob, type ListDownloadsQuery, toDownloadJob } from './schema.js';

export interface DownloadServiceDeps {
  repo: DownloadRepository;
  runner: DownloadRunner;
  audit: AuditService;
  tokenKey: Buffer;
  downloadsDir: string;
  client: Omit<HubClientOptions, 'accessToken'>;
  allowPickle: () => boolean;
  /** Free space kept on the disk on top of what a download needs. */
  diskReserveBytes: number;
  statfs?: (path: string) => Promise<{ bavail: number; bsize: number }>;
}

const jobNotFound = () => new NotFoundError('Download', 'download_not_found');
const isAdmin = (ctx: RequestContext) => ctx.principal?.role === 'admin';

/** `org/Repo.v2` → `org--repo.v2`: a valid, readable registry name. */
export function defaultModelName(repo: string): string {
  return repo
    .toLowerCase()
    .replace(/\//g, '--')
    .replace(/[^a-z0-9._-]/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 100);
}

export function createDownloadService(deps: DownloadServiceDeps) {
  const owned = async (ctx: RequestContext, id: string): Promise<DownloadRow> => {
    const row = await deps.repo.get(id);
    // Another user's job is "not found", as it would be if it did not exist.
    if (!row || (!isAdmin(ctx) && row.createdBy !== ctx.principal?.userId)) throw jobNotFound();
    return row;
  };

  return {
    /**
     * Resolves the revision, picks the files and checks names, pickle policy and disk space before
     * a job exists, so a request that cannot succeed is refused at once and nothing is written.
     */
    async start(ctx: RequestContext, body: DownloadBody): Promise<DownloadJob> {
      const owner = ctx.principal!.userId;
      const client = new HubClient({
        ...deps.client,
        ...(body.auth_token ? { accessToken: body.auth_token } : {}),
      });
      const commit = await client.resolveRevision(body.model_name, body.revision);
      const listing = await client.listFiles(body.model_name, commit);
      const selected = selectFiles(listing, {
        format: body.model_format,
        include: body.files ?? [],
        allowPickle: deps.allowPickle(),
      });
      for (const f of selected) safeRelativePath(f.path);
      const total = selected.reduce((n, f) => n + f.size, 0);
      await mkdir(deps.downloadsDir, { recursive: true });
      const s = await (deps.statfs ?? statfs)(deps.downloadsDir);
      const available = Number(s.bavail) * Number(s.bsize);
      if (available < total + deps.diskReserveBytes) throw new InsufficientDiskSpaceError(total, available);

      const targetName = body.name ?? defaultModelName(body.model_name);
      const paths = selected.map((f) => f.path).sort();
      const shareKey = createHash('sha256')
        .update(JSON.stringify([owner, body.model_name, commit, body.model_format, paths, targetName]))
        .digest('hex');
      const id = newId();
      const now = new Date();
      const { row, created } = await deps.repo.insertOrShare({
        id,
        status: 'queued',
        message: 'Queued',
        repo: body.model_name,
        revision: body.revision,
        commit,
        modelFormat: body.model_format,
        targetName,
        task: body.task ?? 'other',
        files: selected.map((f) => ({
          path: f.path,
          size: f.size,
          done_bytes: 0,
          sha256: f.sha256 ?? null,
          git_oid: f.gitOid,
        })),
        bytesTotal: total,
        tokenSealed: body.auth_token ? encrypt(deps.tokenKey, body.auth_token, id) : null,
        shareKey,
        createdBy: owner,
        createdAt: now,
        updatedAt: now,
      });
      if (created) {
        await deps.audit.record(ctx, {
          action: 'model.download.start',
          targetType: 'model_download',
          targetId: row.id,
          details: { repo: row.repo, revision: row.revision, commit, files: paths.length, bytes: total },
        });
        await deps.runner.publish(row, 'download.queued');
        deps.runner.enqueue(row.id);
      }
      return toDownloadJob(row);
    },

    async get(ctx: RequestContext, id: string): Promise<DownloadJob> {
      return toDownloadJob(await owned(ctx, id));
    },

    async list(ctx: RequestContext, q: ListDownloadsQuery): Promise<Page<DownloadJob>> {
      const before = decodeCursor(q.cursor, z.object({ at: z.string(), id: z.string() }));
      const rows = await deps.repo.list({
        owner: isAdmin(ctx) ? undefined : ctx.principal!.userId,
        status: q.status,
        before: before ? { at: new Date(before.at), id: before.id } : undefined,
        limit: q.limit,
      });
      const page = rows.slice(0, q.limit);
      const last = page[page.length - 1];
      return {
        items: page.map(toDownloadJob),
        next_cursor:
          rows.length > q.limit && last
            ? encodeCursor({ at: last.createdAt.toISOString(), id: last.id })
            : null,
      };
    },

    /** Cancelling twice answers the cancelled job; a job that already ended otherwise is a conflict. */
    async cancel(ctx: RequestContext, id: string): Promise<DownloadJob> {
      const row = await owned(ctx, id);
      if (row.status === 'cancelled') return toDownloadJob(row);
      if (!ACTIVE.includes(row.status)) {
        throw new ConflictError(`The download already ${row.status}`, 'download_finished');
      }
      const after = await deps.repo.updateActive(id, {
        status: 'cancelled',
        message: 'Cancelled',
        tokenSealed: null,
        finishedAt: new Date(),
        speedBps: 0,
        etaSeconds: null,
      });
      if (!after) return this.cancel(ctx, id);
      await deps.runner.stop(id);
      await deps.audit.record(ctx, {
        action: 'model.download.cancel',
        targetType: 'model_download',
        targetId: id,
        details: { repo: row.repo },
      });
      await deps.runner.publish(after, 'download.cancelled');
      return toDownloadJob(after);
    },
  };
}
export type DownloadService = ReturnType<typeof createDownloadService>;
