/**
 * The downloaders the import benchmark compares: raw HTTP clients that only copy bytes to a file,
 * curl as the hub's ceiling, and a whole import through a Polar node's job API.
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { get, type IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';

/** An import slower than 1 MiB/s (or 2 minutes, whichever is longer) is reported as failed, not awaited. */
const MIN_IMPORT_BYTES_PER_S = 1048576;

export interface HubReady {
  url: string;
  repo: string;
  path: string;
  size: number;
  sha256: string;
  files_bytes: number;
}

/** The baseline: one GET following the hub's redirect, streamed to a file, nothing checked. */
export async function rawDownload(url: string, target: string): Promise<number> {
  const res = await fetch(url);
  if (!res.ok || !res.body) throw new Error(`raw download answered ${res.status}`);
  await pipeline(Readable.fromWeb(res.body as NodeReadableStream<Uint8Array>), createWriteStream(target));
  return (await stat(target)).size;
}

function httpGet(url: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => get(url, resolve).once('error', reject));
}

/** The same baseline on node:http, which skips the web-stream layer fetch adds; follows one redirect. */
export async function rawHttpDownload(url: string, target: string): Promise<number> {
  let res = await httpGet(url);
  const location = res.headers.location;
  if (res.statusCode && res.statusCode >= 300 && res.statusCode < 400 && location) {
    res.resume();
    res = await httpGet(new URL(location, url).href);
  }
  if (res.statusCode !== 200) throw new Error(`raw node:http download answered ${res.statusCode}`);
  await pipeline(res, createWriteStream(target));
  return (await stat(target)).size;
}

/** rawHttpDownload, then fdatasync: the raw copy made as durable as an import makes its file. */
export async function rawHttpDurable(url: string, target: string): Promise<number> {
  const size = await rawHttpDownload(url, target);
  const fh = await open(target, 'r+');
  try {
    await fh.datasync();
  } finally {
    await fh.close();
  }
  return size;
}

export interface CurlRun {
  bytes: number;
  seconds: number;
}

/** What the hub can send at all: curl, native code, reading into /dev/null. Null without curl. */
export function curlCeiling(url: string): CurlRun | null {
  const r = spawnSync('curl', ['-sfL', '-o', '/dev/null', '-w', '%{size_download} %{time_total}', url], {
    encoding: 'utf8',
  });
  if (r.status !== 0) return null;
  const [bytes, seconds] = r.stdout.trim().split(' ').map(Number);
  if (!bytes || !seconds) return null;
  return { bytes, seconds };
}

async function call(
  url: string,
  token: string | undefined,
  method: 'GET' | 'POST' | 'DELETE',
  body?: unknown,
): Promise<Response> {
  return fetch(url, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

/** Whether the node has the download job API: an empty body gets 400 from the route, 404 without it. */
export async function hasJobApi(api: string, token: string | undefined): Promise<boolean> {
  const probe = await call(`${api}/models/download`, token, 'POST', {});
  await probe.body?.cancel();
  return probe.status !== 404;
}

export interface ImportRun {
  /** From the POST to the job's finished_at (server clock, same machine). */
  seconds: number;
  /** Milliseconds after the POST at which each status was first seen by the poll. */
  phases: Record<string, number>;
  modelId: string;
}

/**
 * The whole import through a node, from the POST to the job's `succeeded`. The job is polled every
 * `pollMs` like `polar pull` does, but timed by its own finished_at, so the period does not blur
 * the result.
 */
export async function nodeImport(
  api: string,
  token: string | undefined,
  hub: HubReady,
  pollMs: number,
): Promise<ImportRun> {
  const t0 = performance.now();
  const wall0 = Date.now();
  const started = await call(`${api}/models/download`, token, 'POST', {
    model_name: hub.repo,
    model_format: 'safetensors',
  });
  if (started.status !== 202)
    throw new Error(`POST /models/download answered ${started.status}: ${await started.text()}`);
  const { job_id } = (await started.json()) as { job_id: string };
  const deadline = performance.now() + Math.max(120_000, (hub.files_bytes / MIN_IMPORT_BYTES_PER_S) * 1000);
  const phases: Record<string, number> = {};
  for (;;) {
    const res = await call(`${api}/models/download/${encodeURIComponent(job_id)}`, token, 'GET');
    const job = (await res.json()) as {
      status?: string;
      error?: unknown;
      finished_at?: string;
      model_id?: string;
    };
    phases[`${job.status}`] ??= Math.round(performance.now() - t0);
    if (job.status === 'succeeded') {
      const finished = Date.parse(job.finished_at ?? '');
      const seconds = Number.isFinite(finished) ? (finished - wall0) / 1000 : (performance.now() - t0) / 1000;
      return { seconds, phases, modelId: job.model_id ?? '' };
    }
    if (job.status === 'failed' || job.status === 'cancelled' || !res.ok) {
      throw new Error(
        `import job ${job_id} ended ${job.status ?? res.status}: ${JSON.stringify(job.error ?? job)}`,
      );
    }
    if (performance.now() > deadline)
      throw new Error(`import job ${job_id} still ${job.status} at the deadline`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/**
 * Deletes an imported model with its blobs, so the next import downloads the file again (a node
 * skips a file whose sha256 it already stores) and its pages go back to the kernel as the raw
 * clients' deleted files do.
 */
export async function deleteModel(api: string, token: string | undefined, modelId: string): Promise<void> {
  const res = await call(`${api}/models/${encodeURIComponent(modelId)}`, token, 'DELETE');
  if (!res.ok) throw new Error(`DELETE /models/${modelId} answered ${res.status}: ${await res.text()}`);
  const { blobs_freed } = (await res.json()) as { blobs_freed?: number };
  if (!blobs_freed) throw new Error(`deleting model ${modelId} freed no blob`);
}
