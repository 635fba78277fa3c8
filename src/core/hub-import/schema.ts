import { z } from 'zod';
import { pageQuery } from '../../platform/http/pagination.js';
import { DOWNLOAD_STATUSES, MODEL_TASKS } from '../tables.js';
import { MODEL_FORMATS } from './file-filter.js';
import type { DownloadRow } from './repository.js';

/** `org/repo` or a bare `repo`, as the hub names them. */
const REPO_ID = /^(?:[A-Za-z0-9][A-Za-z0-9._-]{0,95}\/)?[A-Za-z0-9][A-Za-z0-9._-]{0,95}$/;

export const downloadBody = z.strictObject({
  model_name: z
    .string()
    .regex(REPO_ID, 'a hub repo id like org/repo')
    .refine((s) => !s.includes('..'), 'a hub repo id like org/repo'),
  model_format: z.enum(MODEL_FORMATS).default('safetensors'),
  auth_token: z.string().min(1).max(1000).optional(),
  revision: z
    .string()
    .min(1)
    .max(200)
    .regex(/^[A-Za-z0-9][A-Za-z0-9._/-]*$/, 'a branch, tag or commit sha')
    .refine((s) => !s.includes('..'), 'a branch, tag or commit sha')
    .default('main'),
  files: z.array(z.string().min(1).max(200)).max(50).optional(),
  name: z
    .string()
    .min(1)
    .max(100)
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/)
    .optional(),
  task: z.enum(MODEL_TASKS).optional(),
});
export type DownloadBody = z.infer<typeof downloadBody>;

export const downloadParams = z.object({ job_id: z.string().min(1).max(100) });
export const listDownloadsQuery = pageQuery.extend({ status: z.enum(DOWNLOAD_STATUSES).optional() });
export type ListDownloadsQuery = z.infer<typeof listDownloadsQuery>;

export const downloadJob = z
  .object({
    job_id: z.string(),
    status: z.enum(DOWNLOAD_STATUSES),
    message: z.string(),
    model_name: z.string(),
    revision: z.string(),
    commit: z.string().nullable(),
    model_format: z.string(),
    files: z.array(z.object({ path: z.string(), size: z.number(), done_bytes: z.number() })),
    download_progress: z.number(),
    bytes_done: z.number(),
    bytes_total: z.number(),
    speed_bps: z.number(),
    estimated_time: z.string().nullable(),
    eta_seconds: z.number().nullable(),
    model_id: z.string().nullable(),
    version: z.number().nullable(),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
    created_by: z.string(),
    created_at: z.string(),
    updated_at: z.string(),
    finished_at: z.string().nullable(),
  })
  .meta({ id: 'ModelDownload' });
export type DownloadJob = z.infer<typeof downloadJob>;

/** The job as clients see it; the sealed token and the share key never leave the server. */
export function toDownloadJob(r: DownloadRow): DownloadJob {
  const progress = r.bytesTotal > 0 ? Math.floor((r.bytesDone / r.bytesTotal) * 1000) / 10 : 0;
  const running = r.status === 'downloading';
  const eta = running ? r.etaSeconds : r.status === 'succeeded' ? 0 : null;
  return {
    job_id: r.id,
    status: r.status,
    message: r.message,
    model_name: r.repo,
    revision: r.revision,
    commit: r.commit,
    model_format: r.modelFormat,
    files: r.files.map((f) => ({ path: f.path, size: f.size, done_bytes: f.done_bytes })),
    download_progress: r.status === 'succeeded' ? 100 : Math.min(progress, 100),
    bytes_done: r.bytesDone,
    bytes_total: r.bytesTotal,
    speed_bps: running ? r.speedBps : 0,
    estimated_time:
      running && eta !== null ? new Date(r.updatedAt.getTime() + eta * 1000).toISOString() : null,
    eta_seconds: eta,
    model_id: r.modelId,
    version: r.version,
    error: r.error ?? null,
    created_by: r.createdBy,
    created_at: r.createdAt.toISOString(),
    updated_at: r.updatedAt.toISOString(),
    finished_at: r.finishedAt?.toISOString() ?? null,
  };
}
