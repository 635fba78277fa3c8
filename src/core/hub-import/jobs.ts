import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { permissionsOf } from '../../hub/auth/permissions.js';
import type { RequestContext } from '../../hub/auth/principal.js';
import type { UserRow } from '../../hub/users/repository.js';
import { decrypt } from '../../platform/crypto/keys.js';
import { AppError } from '../../platform/errors.js';
import type { EventBus } from '../../platform/events/bus.js';
import type { Registry } from '../registry/index.js';
import type { DownloadFile } from '../tables.js';
import { HubClient, type HubClientOptions } from './client.js';
import { DownloadOwnerInactiveError, scrubSecret } from './errors.js';
import type { DownloadRepository, DownloadRow } from './repository.js';
import { toDownloadJob } from './schema.js';

/**
 * Progress is written and announced at most this often per job: a row update and an event a
 * second tell a watcher enough, and cost the download nothing measurable.
 */
const PROGRESS_EVERY_MS = 1000;
/**
 * Times a job fetches files again whose blobs vanished before its version was registered; a blob
 * it stored itself is fresh and spared by the collector, so one round is expected to suffice.
 */
const MAX_REFETCH_ROUNDS = 2;

export interface RunnerDeps {
  repo: DownloadRepository;
  registry: Registry;
  bus: EventBus;
  log: Logger;
  /** Subkey that seals hub tokens at rest; the job id is the associated data. */
  tokenKey: Buffer;
  /** Partial and finished files live in <downloadsDir>/<job_id>/ until registered. */
  downloadsDir: string;
  client: Omit<HubClientOptions, 'accessToken'>;
  concurrency: number;
  /** The requester is looked up when the job runs: the job acts with their role as stored then. */
  users: { byId(id: string): Promise<UserRow | undefined> };
}

/**
 * Runs download jobs in this process, at most `concurrency` at once. The database is the source of
 * truth: a job left active by a previous process is picked up again on start and resumes its
 * partial files; closing aborts running jobs without failing them, so the next start resumes them.
 */
export function createDownloadRunner(deps: RunnerDeps) {
  const queue: string[] = [];
  const running = new Map<string, { abort: AbortController; done: Promise<void> }>();
  let closing = false;

  const publish = async (row: DownloadRow, type: string) => {
    await deps.bus.publish({ topic: 'models', type, data: toDownloadJob(row), userId: row.createdBy });
  };

  const pump = () => {
    while (!closing && running.size < deps.concurrency && queue.length > 0) {
      const id = queue.shift() as string;
      if (running.has(id)) continue;
      const abort = new AbortController();
      const done = run(id, abort.signal)
        .catch((err) => deps.log.error({ err, jobId: id }, 'download job crashed'))
        .finally(() => {
          running.delete(id);
          pump();
        });
      running.set(id, { abort, done });
    }
  };

  /**
   * The job acts as its requester with the role they hold now, not the one they had when they
   * asked: an admin may import into anyone's model, and an account disabled or deleted while the
   * job waited must not gain a version through it.
   */
  const ownerContext = async (row: DownloadRow): Promise<RequestContext> => {
    const user = await deps.users.byId(row.createdBy);
    if (!user || user.disabled) throw new DownloadOwnerInactiveError(user ? 'disabled' : 'deleted');
    return {
      principal: {
        userId: user.id,
        username: user.username,
        role: user.role,
        permissions: permissionsOf(user.role),
        via: 'session',
      },
      requestId: `download-${row.id}`,
      ip: '',
    };
  };

  const ensureModel = async (ctx: RequestContext, row: DownloadRow) => {
    try {
      await deps.registry.models.create(ctx, {
        name: row.targetName,
        task: row.task as never,
        description: `Imported from ${row.repo}`,
        tags: [],
        visibility: 'internal',
      });
    } catch (err) {
      // Importing into an existing model is allowed when the requester may write to it.
      if (!(err instanceof AppError && err.code === 'model_name_taken')) throw err;
    }
  };

  /** Indexes of the files whose blobs are no longer in the store. */
  const vanished = async (stored: { sha256: string }[]) => {
    const gone: number[] = [];
    for (const [i, f] of stored.entries()) if (!(await deps.registry.store.has(f.sha256))) gone.push(i);
    return gone;
  };

  async function run(id: string, signal: AbortSignal): Promise<void> {
    const start = await deps.repo.get(id);
    if (!start || !['queued', 'downloading', 'verifying'].includes(start.status)) return;
    const dir = join(deps.downloadsDir, id);
    const token = start.tokenSealed ? decrypt(deps.tokenKey, start.tokenSealed, id) : undefined;
    const client = new HubClient({ ...deps.client, ...(token ? { accessToken: token } : {}) });
    const files: DownloadFile[] = start.files.map((f) => ({ ...f }));
    let speed = 0;
    let eta: number | null = null;
    let lastWrite = 0;
    let writing: Promise<void> | undefined;
    const persist = async () => {
      const row = await deps.repo.updateActive(id, {
        files,
        bytesDone: files.reduce((n, f) => n + f.done_bytes, 0),
        speedBps: Math.round(speed),
        etaSeconds: eta === null ? null : Math.ceil(eta),
      });
      if (row) await publish(row, 'download.progress');
    };
    // Called from the download's progress reports (a few a second): at most one write in flight,
    // none more often than PROGRESS_EVERY_MS; a report that finds one running is simply dropped.
    const reportProgress = () => {
      const now = Date.now();
      if (writing || now - lastWrite < PROGRESS_EVERY_MS) return;
      lastWrite = now;
      writing = persist()
        .catch((err) => deps.log.warn({ err, jobId: id }, 'download progress not saved'))
        .finally(() => {
          writing = undefined;
        });
    };
    const fetchFile = (f: DownloadFile) =>
      client.downloadFile({
        repo: start.repo,
        commit: start.commit as string,
        file: { path: f.path, size: f.size, gitOid: f.git_oid, sha256: f.sha256 ?? undefined },
        dir,
        signal,
        onProgress: (p) => {
          f.done_bytes = p.bytesDone;
          speed = p.bytesPerSecond;
          const left = total - files.reduce((n, x) => n + x.done_bytes, 0);
          eta = speed > 0 ? left / speed : null;
          reportProgress();
        },
      });
    // The sha256 was computed over these bytes while they were downloaded and verified (against the
    // hub's sha256 for LFS files, its git sha1 otherwise), so the store may trust it.
    const adopt = async (path: string, got: { path: string; bytes: number; sha256: string }) => ({
      path,
      ...(await deps.registry.store.adopt(got.path, { verifiedSha256: got.sha256, size: got.bytes, signal })),
    });
    const total = files.reduce((n, f) => n + f.size, 0);
    try {
      let row = await deps.repo.updateActive(id, { status: 'downloading', message: 'Downloading' });
      if (!row) return;
      // Checked before any byte is fetched so an inactive requester costs no download.
      await ownerContext(start);
      // `local` is absent for a file the store already holds.
      const downloaded: { path: string; local?: string; size: number; sha256: string }[] = [];
      for (const f of files) {
        // A process that died after adopting the files but before registering left them in the
        // store, not in the job's directory; the hub's sha256 of an LFS file names its content, so
        // a blob of that digest and size is that file and need not be fetched again.
        const held = f.sha256 ? await deps.registry.store.stat(f.sha256) : null;
        if (f.sha256 && held?.size === f.size) {
          f.done_bytes = f.size;
          downloaded.push({ path: f.path, size: f.size, sha256: f.sha256 });
          continue;
        }
        const got = await fetchFile(f);
        f.done_bytes = f.size;
        downloaded.push({ path: f.path, local: got.path, size: got.bytes, sha256: got.sha256 });
      }
      // A progress write still running would otherwise land after, and undo, the status below.
      await writing;
      row = await deps.repo.updateActive(id, {
        status: 'verifying',
        message: 'Storing and registering',
        files,
        bytesDone: total,
        etaSeconds: 0,
      });
      if (!row) return;
      const stored: { path: string; size: number; sha256: string }[] = [];
      for (const f of downloaded) {
        if (f.local === undefined) {
          stored.push({ path: f.path, size: f.size, sha256: f.sha256 });
          continue;
        }
        stored.push(await adopt(f.path, { path: f.local, bytes: f.size, sha256: f.sha256 }));
      }
      // Looked up again: the requester may have been disabled while the files were downloading.
      const ctx = await ownerContext(start);
      await ensureModel(ctx, start);
      let registered: Awaited<ReturnType<typeof deps.registry.versions.registerStored>>;
      for (let round = 0; ; round++) {
        try {
          registered = await deps.registry.versions.registerStored(ctx, start.targetName, {
            files: stored,
            source: `hf:${start.repo}@${start.commit}`,
            lineage: { job_id: id },
            metrics: { hf_repo: start.repo, hf_revision: start.revision, hf_commit: start.commit },
          });
          break;
        } catch (err) {
          // A blob this job found already stored is unreferenced until the version exists, so the
          // collector may have removed it since: such files are fetched again instead of failing.
          const gone = await vanished(stored);
          if (gone.length === 0 || round >= MAX_REFETCH_ROUNDS) throw err;
          deps.log.warn(
            { jobId: id, files: gone.map((i) => stored[i]?.path) },
            'stored blobs vanished; fetching again',
          );
          await deps.repo.updateActive(id, { message: 'Fetching again files whose stored copy was removed' });
          for (const i of gone) {
            const f = files.find((x) => x.path === stored[i]?.path) as DownloadFile;
            stored[i] = await adopt(f.path, await fetchFile(f));
          }
        }
      }
      const { modelId, version } = registered;
      await writing;
      row = await deps.repo.updateActive(id, {
        status: 'succeeded',
        message: `Registered as version ${version.version}`,
        modelId,
        version: version.version,
        tokenSealed: null,
        finishedAt: new Date(),
        speedBps: 0,
        etaSeconds: 0,
      });
      await rm(dir, { recursive: true, force: true });
      if (row) await publish(row, 'download.succeeded');
    } catch (err) {
      // A shutdown leaves the job active with its partial files: the next start resumes it.
      if (closing && signal.aborted) return;
      await rm(dir, { recursive: true, force: true });
      const code = err instanceof AppError ? err.code : 'download_failed';
      const message = scrubSecret(err instanceof Error ? err.message : String(err), token);
      if (!(err instanceof AppError)) deps.log.error({ err: { message }, jobId: id }, 'download failed');
      const row = await deps.repo.updateActive(id, {
        status: 'failed',
        message,
        error: { code, message },
        tokenSealed: null,
        finishedAt: new Date(),
        speedBps: 0,
        etaSeconds: null,
      });
      if (row) await publish(row, 'download.failed');
    }
  }

  return {
    publish,
    enqueue(id: string) {
      if (closing || queue.includes(id) || running.has(id)) return;
      queue.push(id);
      pump();
    },
    /** Re-queues what a previous process left active. */
    async start() {
      for (const row of await deps.repo.active()) this.enqueue(row.id);
    },
    /** Stops a job's download and waits until it no longer writes; its files are then removed. */
    async stop(id: string) {
      const i = queue.indexOf(id);
      if (i >= 0) queue.splice(i, 1);
      const r = running.get(id);
      if (r) {
        r.abort.abort();
        await r.done;
      }
      await rm(join(deps.downloadsDir, id), { recursive: true, force: true });
    },
    async close() {
      closing = true;
      queue.length = 0;
      const all = [...running.values()];
      for (const r of all) r.abort.abort();
      await Promise.all(all.map((r) => r.done));
    },
  };
}
export type DownloadRunner = ReturnType<typeof createDownloadRunner>;
