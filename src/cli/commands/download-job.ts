/**
 * A model download job as `/api/v1/models/download` answers it. This mirrors the download job API's
 * response schema by hand only until that schema is committed; then it becomes a type-only import
 * of it, like every other answer the CLI reads.
 */
export type DownloadStatus = 'queued' | 'downloading' | 'verifying' | 'succeeded' | 'failed' | 'cancelled';

export interface DownloadJob {
  job_id: string;
  status: DownloadStatus;
  message: string;
  model_name: string;
  revision: string;
  commit: string | null;
  model_format: string;
  files: { path: string; size: number; done_bytes: number }[];
  /** 0-100. */
  download_progress: number;
  bytes_done: number;
  bytes_total: number;
  speed_bps: number;
  /** ISO time the download is expected to end. */
  estimated_time: string | null;
  eta_seconds: number | null;
  model_id: string | null;
  version: number | null;
  error: { code: string; message: string } | null;
  created_by: string;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
}
