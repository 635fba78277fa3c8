import { HubApiError, listFiles, modelInfo } from '@huggingface/hub';
import { AppError } from '../../platform/errors.js';
import { type DownloadDeps, type DownloadResult, downloadRepoFile } from './download.js';
import {
  HubAccessDeniedError,
  HubAuthError,
  HubNotFoundError,
  HubProtocolError,
  HubUnavailableError,
  scrubSecret,
} from './errors.js';
import type { ProgressListener } from './progress.js';
import { DEFAULT_RETRY, RetryableError, type RetryPolicy, withRetry } from './retry.js';

/** One file of a repo at a commit, as the hub lists it. */
export interface RepoFile {
  path: string;
  size: number;
  /** git blob sha1 of what git stores (the pointer file, for LFS files). */
  gitOid: string;
  /** sha256 of the content, for LFS files; small files are checked by `gitOid` instead. */
  sha256: string | undefined;
}

export interface HubClientOptions {
  /** Hub base URL (config `hfEndpoint`). */
  endpoint: string;
  /** Hub access token (`hf_…`). Sent only as a bearer header; never put in a message. */
  accessToken?: string;
  /** For metadata and the download probe; a file's bytes come over node:http(s) (see getBytes). */
  fetch?: typeof fetch;
  retry?: RetryPolicy;
  /** An attempt with no bytes for this long is abandoned and retried, so a stalled socket cannot hang an import. */
  idleTimeoutMs?: number;
  /** Free space left untouched on the target disk, on top of what a download needs. */
  diskReserveBytes?: number;
  statfs?: DownloadDeps['statfs'];
}

export interface DownloadOptions {
  repo: string;
  /** A commit sha from `resolveRevision`, so every file of an import comes from the same commit. */
  commit: string;
  file: RepoFile;
  /** Directory the file lands in, at its repo path; a partial file sits next to it until verified. */
  dir: string;
  signal?: AbortSignal;
  onProgress?: ProgressListener;
}

const COMMIT_SHA = /^[0-9a-f]{40}$/;
const GIT_OID = /^[0-9a-f]{40}$/;
const SHA256 = /^[0-9a-f]{64}$/;

/**
 * Reads repos from a Hugging Face hub through @huggingface/hub: revisions, file listings and
 * resumable, verified downloads. Each call retries connection errors and 5xx with backoff.
 */
export class HubClient {
  private readonly endpoint: string;
  private readonly token: string | undefined;
  private readonly baseFetch: typeof fetch;
  private readonly retry: RetryPolicy;
  private readonly deps: DownloadDeps;

  constructor(opts: HubClientOptions) {
    this.endpoint = opts.endpoint.replace(/\/+$/, '');
    this.token = opts.accessToken || undefined;
    this.baseFetch = opts.fetch ?? globalThis.fetch;
    this.retry = opts.retry ?? DEFAULT_RETRY;
    this.deps = {
      idleTimeoutMs: opts.idleTimeoutMs ?? 60_000,
      diskReserveBytes: opts.diskReserveBytes ?? 64 * 1024 * 1024,
      ...(opts.statfs ? { statfs: opts.statfs } : {}),
    };
  }

  /** The commit a branch, tag or sha points at now. */
  async resolveRevision(repo: string, revision = 'main', signal?: AbortSignal): Promise<string> {
    const info = await this.call(repo, 'revision', revision, signal, (fetch) =>
      modelInfo({
        name: repo,
        revision,
        hubUrl: this.endpoint,
        accessToken: this.token,
        fetch,
        additionalFields: ['sha'],
      }),
    );
    if (typeof info.sha !== 'string' || !COMMIT_SHA.test(info.sha)) {
      throw new HubProtocolError(`revision ${revision} of ${repo} has no commit sha`);
    }
    return info.sha;
  }

  /** Every file of the repo at `commit` (folders left out), following the hub's pagination. */
  async listFiles(repo: string, commit: string, signal?: AbortSignal): Promise<RepoFile[]> {
    return this.call(repo, 'revision', commit, signal, async (fetch) => {
      const files: RepoFile[] = [];
      for await (const entry of listFiles({
        repo,
        revision: commit,
        recursive: true,
        hubUrl: this.endpoint,
        accessToken: this.token,
        fetch,
      })) {
        if (entry.type !== 'file') continue;
        // Without a well-formed hash a download could not be verified, so such a listing is refused.
        const sizeOk =
          Number.isSafeInteger(entry.lfs?.size ?? entry.size) && (entry.lfs?.size ?? entry.size) >= 0;
        const hashOk = entry.lfs ? SHA256.test(entry.lfs.oid) : GIT_OID.test(entry.oid ?? '');
        if (typeof entry.path !== 'string' || !sizeOk || !hashOk) {
          throw new HubProtocolError(`malformed tree entry in ${repo}`);
        }
        files.push({
          path: entry.path,
          size: entry.lfs?.size ?? entry.size,
          gitOid: entry.oid ?? '',
          sha256: entry.lfs?.oid,
        });
      }
      return files;
    });
  }

  /**
   * Downloads one file to `dir`, resuming from a partial file left by an interrupted run, and
   * verifies its size and hash before it appears under its name.
   */
  async downloadFile(opts: DownloadOptions): Promise<DownloadResult> {
    try {
      return await downloadRepoFile({
        ...opts,
        endpoint: this.endpoint,
        token: this.token,
        fetch: this.baseFetch,
        retry: this.retry,
        deps: this.deps,
        mapError: (err) => this.translate(err, opts.repo, 'file', opts.file.path),
      });
    } catch (err) {
      throw this.translate(err, opts.repo, 'file', opts.file.path);
    }
  }

  /** Runs one metadata request with retries; `signal` cancels both the request and the wait between tries. */
  private async call<T>(
    repo: string,
    what: 'revision',
    name: string,
    signal: AbortSignal | undefined,
    run: (fetch: typeof globalThis.fetch) => Promise<T>,
  ): Promise<T> {
    const fetch = withSignal(this.baseFetch, signal);
    try {
      return await withRetry(this.retry, signal, async () => {
        try {
          return await run(fetch);
        } catch (err) {
          throw this.translate(err, repo, what, name, signal);
        }
      });
    } catch (err) {
      throw this.translate(err, repo, what, name, signal);
    }
  }

  /** Maps library, HTTP and network failures to Polar errors; retryable ones stay RetryableError inside loops. */
  private translate(
    err: unknown,
    repo: string,
    what: 'revision' | 'file',
    name: string,
    signal?: AbortSignal,
  ): Error {
    if (err instanceof AppError) return err;
    if (signal?.aborted)
      return new AppError(409, 'hub_request_cancelled', `Request to the hub for ${repo} was cancelled`);
    if (err instanceof RetryableError) return new HubUnavailableError(this.scrub(err.message));
    if (err instanceof HubApiError) {
      const status = err.statusCode;
      if (status === 401) return new HubAuthError(repo);
      if (status === 403) return new HubAccessDeniedError(repo);
      if (status === 404) {
        const message = String(err.data?.error ?? err.message);
        if (/repository not found/i.test(message)) return new HubNotFoundError('repo', repo);
        return new HubNotFoundError(what, what === 'file' ? name : `${repo}@${name}`);
      }
      if (status >= 500 || status === 429 || status === 408) {
        return new RetryableError(`${repo}: the hub answered ${status}`);
      }
      return new HubProtocolError(`${repo}: the hub answered ${status}`);
    }
    if (err instanceof TypeError && /fetch failed|terminated|socket/i.test(err.message)) {
      return new RetryableError(this.scrub(`${repo}: ${networkReason(err)}`));
    }
    const message = err instanceof Error ? err.message : String(err);
    return new HubProtocolError(this.scrub(`${repo}: ${message}`));
  }

  private scrub(text: string): string {
    return scrubSecret(text, this.token);
  }
}

/** A fetch that also stops when `signal` aborts, whatever signal the library passes itself. */
export function withSignal(base: typeof fetch, signal: AbortSignal | undefined): typeof fetch {
  if (!signal) return base;
  return (input, init) =>
    base(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, signal]) : signal });
}

function networkReason(err: Error): string {
  const cause = err.cause as { code?: unknown; message?: unknown } | undefined;
  const code = typeof cause?.code === 'string' ? cause.code : undefined;
  return code ? `${err.message} (${code})` : err.message;
}
