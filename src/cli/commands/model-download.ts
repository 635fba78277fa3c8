import { createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { VersionView } from '../../core/registry/schema.js';
import type { ApiClient } from '../client.js';
import type { CliContext } from '../context.js';
import { meter, ProgressReporter } from '../progress.js';

export interface DownloadRequest {
  /** `/api/v1/models/{id}`. */
  modelPath: string;
  version: number;
  path: string;
  output: string;
  quiet: boolean;
}

export interface DownloadResult {
  output: string;
  path: string;
  size: number;
  sha256: string;
  /** The byte the download continued from (0: from the start). */
  resumed_from: number;
  /** The file was already there, whole and verified. */
  skipped: boolean;
}

async function sizeOf(file: string): Promise<number> {
  const st = await stat(file).catch(() => null);
  return st?.isFile() ? st.size : 0;
}

async function hashInto(hash: Hash, file: string, end?: number): Promise<Hash> {
  if (end === 0) return hash;
  for await (const chunk of createReadStream(file, end === undefined ? {} : { end: end - 1 })) {
    hash.update(chunk as Buffer);
  }
  return hash;
}

/**
 * Downloads one file of a version to `output`. A partial `output` (an interrupted earlier run) is
 * continued with a Range request; the whole file is then checked against the version's sha256, so
 * a prefix that does not belong to this file is caught (and the next run starts over, because a
 * file of the full size that fails the check is not resumed).
 */
export async function downloadFile(
  ctx: CliContext,
  client: ApiClient,
  req: DownloadRequest,
): Promise<DownloadResult> {
  const version = await client.get<VersionView>(`${req.modelPath}/versions/${req.version}`);
  const meta = version.files.find((f) => f.path === req.path);
  let have = await sizeOf(req.output);
  if (meta && have === meta.size) {
    const digest = (await hashInto(createHash('sha256'), req.output)).digest('hex');
    if (digest === meta.sha256)
      return {
        output: req.output,
        path: req.path,
        size: meta.size,
        sha256: digest,
        resumed_from: 0,
        skipped: true,
      };
    have = 0;
  }
  if (meta && have > meta.size) have = 0;

  const filePath = `${req.modelPath}/versions/${req.version}/files/${req.path
    .split('/')
    .map(encodeURIComponent)
    .join('/')}`;
  const res = await client.raw('GET', filePath, {
    headers: { accept: '*/*', ...(have > 0 ? { range: `bytes=${have}-` } : {}) },
    timeoutMs: 24 * 60 * 60 * 1000,
  });
  // A server may answer a Range request with the whole file (200); then we start over.
  const from = res.status === 206 ? have : 0;
  const hash = await hashInto(createHash('sha256'), req.output, from);
  const total = meta?.size ?? (Number(res.headers.get('content-length')) || 0) + from;
  const progress = new ProgressReporter(ctx, { quiet: req.quiet });
  const rate = meter();
  let done = from;
  const count = new Transform({
    transform(chunk: Buffer, _enc, callback) {
      hash.update(chunk);
      done += chunk.length;
      progress.update({ label: req.path, done, total, ...rate(done - from, total - from) }, done === total);
      callback(null, chunk);
    },
  });
  try {
    if (!res.body) throw new Error('The node sent no file content');
    await pipeline(
      Readable.fromWeb(res.body as WebReadableStream<Uint8Array>),
      count,
      createWriteStream(req.output, { flags: from > 0 ? 'a' : 'w' }),
    );
  } finally {
    progress.finish();
  }
  const sha256 = hash.digest('hex');
  const expected = meta?.sha256 ?? res.headers.get('etag')?.replace(/"/g, '');
  if (expected && sha256 !== expected) {
    throw new Error(
      `${req.output} does not match the version's sha256 (got ${sha256}, expected ${expected}); run the download again to start over`,
    );
  }
  return { output: req.output, path: req.path, size: done, sha256, resumed_from: from, skipped: false };
}
