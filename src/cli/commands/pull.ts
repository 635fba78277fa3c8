import { type Command, Option } from 'commander';
import type { DownloadJob } from '../../core/hub-import/schema.js';
import type { ApiClient, Page } from '../client.js';
import { type CliContext, clientOf, globalsOf, nextPageHint, print } from '../context.js';
import { SilentExit, UsageError } from '../errors.js';
import { bytes, type Column, fields, json, table, time } from '../output.js';
import { duration, ProgressReporter } from '../progress.js';
import { intOption } from '../values.js';

const DOWNLOADS = '/api/v1/models/download';
/** Often enough for a live bar, rare enough to cost the node nothing. */
export const POLL_INTERVAL_MS = 500;
/** The shell convention for "ended by Ctrl-C". */
export const EXIT_INTERRUPTED = 130;

const FINISHED: ReadonlySet<DownloadJob['status']> = new Set(['succeeded', 'failed', 'cancelled']);
const STATUSES = ['queued', 'downloading', 'verifying', 'succeeded', 'failed', 'cancelled'];

const jobPath = (id: string) => `${DOWNLOADS}/${encodeURIComponent(id)}`;

const jobColumns: Column<DownloadJob>[] = [
  { header: 'job', value: (j) => j.job_id },
  { header: 'repo', value: (j) => j.model_name },
  { header: 'status', value: (j) => j.status },
  { header: 'progress', value: (j) => `${Math.floor(j.download_progress)}%` },
  { header: 'size', value: (j) => bytes(j.bytes_total) },
  { header: 'version', value: (j) => (j.version === null ? '-' : `v${j.version}`) },
  { header: 'created', value: (j) => time(j.created_at) },
];

export const jobFields = (j: DownloadJob) =>
  fields([
    ['job', j.job_id],
    ['repo', j.model_name],
    ['revision', j.commit ? `${j.revision} (${j.commit.slice(0, 12)})` : j.revision],
    ['format', j.model_format],
    ['status', j.message ? `${j.status}: ${j.message}` : j.status],
    ['progress', `${j.download_progress}% (${bytes(j.bytes_done)} of ${bytes(j.bytes_total)})`],
    ['eta', j.status === 'downloading' ? duration(j.eta_seconds) : '-'],
    ['files', j.files.map((f) => f.path).join(', ') || '-'],
    ['model', j.model_id ? `${j.model_id} v${j.version ?? '?'}` : '-'],
    ['error', j.error ? `${j.error.message} (${j.error.code})` : '-'],
    ['created', time(j.created_at)],
    ['finished', time(j.finished_at)],
  ]);

/** What the bar shows for a job; the status stands in for the label while no bytes move. */
export function jobProgress(j: DownloadJob) {
  return {
    label: j.status === 'downloading' ? j.model_name : `${j.model_name} (${j.status})`,
    done: j.bytes_done,
    total: j.bytes_total || null,
    speedBps: j.speed_bps || null,
    etaSeconds: j.eta_seconds,
  };
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Polls a job until it finishes, drawing its progress. Ctrl-C sends the cancel request and ends
 * with exit code 130: leaving a download running on the node after the user stopped waiting would
 * surprise more people than it would help (`--detach` is there for that).
 */
export async function followJob(
  ctx: CliContext,
  client: ApiClient,
  first: DownloadJob,
  opts: { json: boolean; intervalMs?: number },
): Promise<DownloadJob> {
  const sleep = ctx.sleep ?? defaultSleep;
  const progress = new ProgressReporter(ctx, { quiet: opts.json });
  let cancelling: Promise<DownloadJob | null> | null = null;
  let wake = () => {};
  const interrupted = new Promise<void>((resolve) => {
    wake = resolve;
  });
  const release = ctx.onInterrupt?.(() => {
    cancelling ??= client.post<DownloadJob>(`${jobPath(first.job_id)}/cancel`).catch((err: unknown) => {
      ctx.err(`Could not cancel job ${first.job_id}: ${(err as Error).message}`);
      return null;
    });
    wake();
  });
  try {
    let job = first;
    let status = job.status;
    progress.update(jobProgress(job), true);
    while (!FINISHED.has(job.status) && !cancelling) {
      await Promise.race([sleep(opts.intervalMs ?? POLL_INTERVAL_MS), interrupted]);
      if (cancelling) break;
      job = await client.get<DownloadJob>(jobPath(job.job_id));
      progress.update(jobProgress(job), job.status !== status);
      status = job.status;
    }
    if (cancelling) {
      const cancelled = await cancelling;
      progress.finish();
      if (cancelled && opts.json) ctx.out(json(cancelled));
      ctx.err(`Interrupted: cancelled the download of ${first.model_name} (job ${first.job_id}).`);
      throw new SilentExit(EXIT_INTERRUPTED);
    }
    return job;
  } finally {
    progress.finish();
    release?.();
  }
}

interface PullOptions {
  format?: string;
  revision?: string;
  files?: string[];
  name?: string;
  task?: string;
  tokenStdin?: boolean;
  detach?: boolean;
  status?: string;
}

export function registerPull(program: Command, ctx: CliContext) {
  const pull = program
    .command('pull')
    .description('Import a model from the Hugging Face Hub as a new version, with a progress bar')
    .argument('[repo]', 'org/repo on the hub')
    .addOption(
      new Option('--format <format>', 'which weights to take').choices([
        'safetensors',
        'gguf',
        'onnx',
        'pytorch',
      ]),
    )
    .option('--revision <rev>', 'branch, tag or commit (default: main)')
    .option('--files <globs...>', 'only files matching these globs (e.g. "*Q4_K_M.gguf")')
    .option('--name <name>', 'the registry model to add the version to (default: from the repo)')
    .option('--task <task>', 'the task of a model created by this import')
    .option('--token-stdin', 'read a Hugging Face token from standard input (else HF_TOKEN)')
    .option('--detach', 'start the download and return at once with its job id')
    .option('--status <job>', "show a download job's state instead of starting one")
    .action(async (repo: string | undefined, opts: PullOptions, cmd: Command) => {
      const client = await clientOf(ctx, cmd);
      const asJson = globalsOf(ctx, cmd).json === true;
      if (opts.status !== undefined) {
        if (repo !== undefined) throw new UsageError('Give either a repo or --status <job>, not both');
        print(ctx, cmd, await client.get<DownloadJob>(jobPath(opts.status)), jobFields);
        return;
      }
      if (repo === undefined) throw new UsageError('Which repo? e.g. `polar pull org/repo`');
      const token = opts.tokenStdin
        ? (await ctx.prompter.ask('Hugging Face token: ', { hidden: true })).trim()
        : ctx.config.hfToken;
      const job = await client.post<DownloadJob>(DOWNLOADS, {
        model_name: repo,
        ...(opts.format ? { model_format: opts.format } : {}),
        ...(token ? { auth_token: token } : {}),
        ...(opts.revision ? { revision: opts.revision } : {}),
        ...(opts.files ? { files: opts.files } : {}),
        ...(opts.name ? { name: opts.name } : {}),
        ...(opts.task ? { task: opts.task } : {}),
      });
      if (opts.detach) {
        print(
          ctx,
          cmd,
          job,
          (j) => `Started job ${j.job_id}; see it with \`polar pull --status ${j.job_id}\`.`,
        );
        return;
      }
      const last = await followJob(ctx, client, job, { json: asJson });
      if (asJson) ctx.out(json(last));
      if (last.status === 'succeeded') {
        if (!asJson)
          ctx.out(
            `Pulled ${last.model_name}@${last.commit?.slice(0, 12) ?? last.revision}: model ${last.model_id} version ${last.version} (${bytes(last.bytes_total)}).`,
          );
        return;
      }
      const reason = last.error ? `${last.error.message} (${last.error.code})` : last.message || last.status;
      ctx.err(`Error: the download of ${last.model_name} ${last.status}: ${reason}`);
      throw new SilentExit(1);
    });

  pull
    .command('ls')
    .alias('list')
    .description('List download jobs')
    .addOption(new Option('--status <status>', 'only jobs in this state').choices(STATUSES))
    .option('-n, --limit <n>', 'at most this many (1-200)', intOption(1, 200))
    .option('--cursor <cursor>', 'continue after a previous page')
    .action(async (opts: { status?: string; limit?: number; cursor?: string }, cmd: Command) => {
      // `pull` has its own --status <job>, and Commander gives an option after the subcommand name to
      // the parent when both declare it; so the filter may arrive there.
      const status = opts.status ?? (cmd.parent?.opts() as PullOptions | undefined)?.status;
      if (status !== undefined && !STATUSES.includes(status))
        throw new UsageError(`--status must be one of ${STATUSES.join(', ')}`);
      const client = await clientOf(ctx, cmd);
      const page = await client.get<Page<DownloadJob>>(DOWNLOADS, {
        status,
        limit: opts.limit,
        cursor: opts.cursor,
      });
      print(ctx, cmd, page, (p) => table(p.items, jobColumns));
      nextPageHint(ctx, cmd, page.next_cursor);
    });

  pull
    .command('cancel')
    .description('Cancel a download job')
    .argument('<job>', 'job id')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const client = await clientOf(ctx, cmd);
      const job = await client.post<DownloadJob>(`${jobPath(id)}/cancel`);
      print(ctx, cmd, job, (j) => `Job ${j.job_id} is ${j.status}.`);
    });
}
