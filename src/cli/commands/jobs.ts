import { type Command, Option } from 'commander';
import type { JobLogsPage, TrainingJob } from '../../forge/jobs/schema.js';
import { JOB_STATES } from '../../forge/jobs/tables.js';
import type { Page } from '../client.js';
import { type CliContext, clientOf, globalsOf, nextPageHint, print } from '../context.js';
import { SilentExit } from '../errors.js';
import { type Column, fields, table, time } from '../output.js';
import { duration } from '../progress.js';
import { intOption } from '../values.js';
import {
  FINISHED,
  followTraining,
  formatLogLine,
  type LogLine,
  metricValue,
  TRAINING,
  trainingPath,
} from './training-follow.js';

const modelOf = (j: TrainingJob) => (j.result ? `${j.result.model_name} v${j.result.version}` : '-');
const datasetOf = (j: TrainingJob) => {
  const id = j.spec.dataset_id;
  return typeof id === 'string' ? `${id} v${String(j.spec.dataset_version ?? '?')}` : '-';
};

const jobColumns: Column<TrainingJob>[] = [
  { header: 'job', value: (j) => j.job_id },
  { header: 'name', value: (j) => j.name },
  { header: 'state', value: (j) => j.state },
  { header: 'progress', value: (j) => `${Math.floor(j.progress)}%` },
  { header: 'attempts', value: (j) => `${j.attempts}/${j.max_attempts}` },
  { header: 'model', value: modelOf },
  { header: 'created', value: (j) => time(j.created_at) },
];

/** Nested metric values (a confusion matrix) as compact JSON, numbers to four significant digits. */
const metricLines = (metrics: Record<string, unknown>) =>
  Object.entries(metrics)
    .map(([k, v]) => `${k}=${metricValue(v)}`)
    .join(', ') || '-';

const jobFields = (j: TrainingJob) =>
  fields([
    ['job', j.job_id],
    ['name', j.name],
    ['state', j.message ? `${j.state}: ${j.message}` : j.state],
    ['progress', `${j.progress}%`],
    ['eta', j.state === 'running' ? duration(j.eta_seconds) : '-'],
    ['task', typeof j.spec.task === 'string' ? j.spec.task : '-'],
    ['dataset', datasetOf(j)],
    ['attempts', `${j.attempts} of ${j.max_attempts}`],
    ['next attempt', time(j.next_attempt_at)],
    ['priority', String(j.priority)],
    ['worker', j.worker_id ?? '-'],
    ['model', modelOf(j)],
    ['metrics', metricLines(j.metrics)],
    [
      'error',
      j.error ? `${j.error.message} (${j.error.code}${j.error.transient ? ', transient' : ''})` : '-',
    ],
    ['created', time(j.created_at)],
    ['started', time(j.started_at)],
    ['finished', time(j.finished_at)],
    ['heartbeat', time(j.heartbeat_at)],
  ]);

interface ListOptions {
  state?: string;
  owner?: string;
  limit?: number;
  cursor?: string;
  allPages?: boolean;
}

interface LogsOptions {
  follow?: boolean;
  after?: number;
}

export function registerJobs(program: Command, ctx: CliContext) {
  const jobs = program.command('jobs').description('Training jobs: list, inspect, read logs, cancel');

  jobs
    .command('ls')
    .alias('list')
    .description('List your training jobs, newest first (admins: everyone’s)')
    .addOption(new Option('--state <state>', 'only jobs in this state').choices([...JOB_STATES]))
    .option('--owner <user>', 'only this user’s jobs (admins)')
    .option('-n, --limit <n>', 'at most this many per page (1-200)', intOption(1, 200))
    .option('--cursor <cursor>', 'continue after a previous page')
    .option('--all-pages', 'follow the pages to the end')
    .action(async (opts: ListOptions, cmd: Command) => {
      const client = await clientOf(ctx, cmd);
      const query = { state: opts.state, owner: opts.owner, limit: opts.limit };
      let page = await client.get<Page<TrainingJob>>(TRAINING, { ...query, cursor: opts.cursor });
      if (opts.allPages) {
        const items = [...page.items];
        while (page.next_cursor) {
          page = await client.get<Page<TrainingJob>>(TRAINING, { ...query, cursor: page.next_cursor });
          items.push(...page.items);
        }
        page = { items, next_cursor: null };
      }
      print(ctx, cmd, page, (p) => table(p.items, jobColumns));
      nextPageHint(ctx, cmd, page.next_cursor);
    });

  jobs
    .command('show')
    .alias('get')
    .description('Show a training job: state, progress, attempts, error, metrics and the registered model')
    .argument('<job>', 'job id')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const client = await clientOf(ctx, cmd);
      print(ctx, cmd, await client.get<TrainingJob>(trainingPath(id)), jobFields);
    });

  jobs
    .command('logs')
    .description("A training job's log lines; --follow waits for new ones until the job ends")
    .argument('<job>', 'job id')
    .option('-f, --follow', 'keep printing new lines until the job ends (exit 1 if it fails)')
    // --json prints one JSON object per line (JSON Lines), so a followed log can be piped to jq.
    .option('--after <line>', 'only lines after this line id', intOption(0))
    .action(async (id: string, opts: LogsOptions, cmd: Command) => {
      const client = await clientOf(ctx, cmd);
      const asJson = globalsOf(ctx, cmd).json === true;
      const show = (l: LogLine) => ctx.out(asJson ? JSON.stringify(l) : formatLogLine(l));
      if (!opts.follow) {
        let after = opts.after ?? 0;
        const lines: LogLine[] = [];
        for (;;) {
          const page = await client.get<JobLogsPage>(`${trainingPath(id)}/logs`, { after, limit: 1000 });
          lines.push(...page.items);
          if (page.next_after === null) break;
          after = page.next_after;
        }
        for (const l of lines) show(l);
        return;
      }
      const job = await client.get<TrainingJob>(trainingPath(id));
      const last = await followTraining(ctx, client, job, {
        progress: false,
        json: false,
        cancelOnInterrupt: false,
        onLog: show,
        ...(opts.after !== undefined ? { after: opts.after } : {}),
      });
      if (!FINISHED.has(last.state) || last.state === 'succeeded') return;
      const reason = last.error ? `${last.error.message} (${last.error.code})` : last.message || last.state;
      ctx.err(`Training job ${id} ${last.state}: ${reason}`);
      throw new SilentExit(1);
    });

  jobs
    .command('cancel')
    .description('Cancel a training job: a queued one at once, a running one’s trainer is stopped')
    .argument('<job>', 'job id')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const client = await clientOf(ctx, cmd);
      const job = await client.post<TrainingJob>(`${trainingPath(id)}/cancel`);
      print(ctx, cmd, job, (j) => `Training job ${j.job_id} is ${j.state}.`);
    });
}
