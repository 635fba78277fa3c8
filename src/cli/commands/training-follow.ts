import type { JobLogsPage, JobMetrics, TrainingJob } from '../../forge/jobs/schema.js';
import type { ApiClient } from '../client.js';
import type { CliContext } from '../context.js';
import { SilentExit } from '../errors.js';
import { json } from '../output.js';
import { duration } from '../progress.js';
import { EXIT_INTERRUPTED } from './pull.js';

export type LogLine = JobLogsPage['items'][number];

export const TRAINING = '/api/v1/training';
export const trainingPath = (id: string) => `${TRAINING}/${encodeURIComponent(id)}`;

export const FINISHED: ReadonlySet<TrainingJob['state']> = new Set(['succeeded', 'failed', 'cancelled']);

/** Training runs for minutes to hours: once a second is live enough and costs the node nothing. */
export const TRAINING_POLL_MS = 1000;
/** The metric series grow with every epoch, so they are read every few polls, not every one. */
const METRICS_EVERY_POLLS = 3;
/** The most log lines the API gives per page. */
const LOG_PAGE = 1000;
/** Plain (non-terminal) status lines between state changes are printed at most this often. */
const PLAIN_EVERY_MS = 5_000;
const BAR_WIDTH = 20;
/** How many of the latest metrics fit on the status line. */
const LINE_METRICS = 2;

/** `0.9312`, `1234.5`, `1.2e-7`: four significant digits, enough to watch a loss go down. */
export function metricValue(v: unknown): string {
  if (typeof v !== 'number') return typeof v === 'string' ? v : JSON.stringify(v);
  if (Number.isInteger(v)) return String(v);
  return Number(v.toPrecision(4)).toString();
}

/** The last point of each series, for the status line: `loss=0.3124`. */
export function latestMetrics(m: JobMetrics): string[] {
  return m.series
    .filter((s) => s.points.length > 0)
    .map((s) => `${s.name}=${metricValue(s.points[s.points.length - 1]!.value)}`);
}

/** A job's numeric final metrics as `accuracy 0.93, f1 0.91` (nested objects are left to `show`). */
export function metricSummary(metrics: Record<string, unknown>): string {
  return Object.entries(metrics)
    .filter(([, v]) => typeof v === 'number')
    .map(([k, v]) => `${k} ${metricValue(v)}`)
    .join(', ');
}

const hhmmss = (iso: string) => {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toISOString().slice(11, 19);
};

/** `12:00:03 info  fitted 100 trees`; the attempt is named from the second one on. */
export function formatLogLine(l: LogLine): string {
  const attempt = l.attempt > 1 ? ` [attempt ${l.attempt}]` : '';
  return `${hhmmss(l.at)} ${l.level.padEnd(5)}${attempt} ${l.message}`;
}

/** What the job is doing, in words: `running`, `retrying at 12:01:00 (attempt 2/3)`. */
function stateText(j: TrainingJob): string {
  if (j.state === 'retrying') {
    const at = j.next_attempt_at ? ` at ${hhmmss(j.next_attempt_at)}` : '';
    return `retrying${at} (attempt ${j.attempts + 1}/${j.max_attempts})`;
  }
  if (j.state === 'running' && j.attempts > 1) return `running (attempt ${j.attempts}/${j.max_attempts})`;
  return j.state;
}

/**
 * One status line: `churn [########------------]  42%  running  ETA 1m20s  loss=0.31 auc=0.87`, at
 * most `columns - 1` characters so a redraw with `\r` overwrites it exactly.
 */
export function renderTrainingLine(j: TrainingJob, metrics: readonly string[], columns = 80): string {
  const fraction = Math.min(1, Math.max(0, j.progress / 100));
  const percent = `${String(Math.floor(fraction * 100)).padStart(3)}%`;
  const eta = j.state === 'running' && j.eta_seconds !== null ? `ETA ${duration(j.eta_seconds)}` : '';
  const shown = metrics.slice(0, LINE_METRICS).join(' ');
  const tail = [percent, stateText(j), eta, shown].filter(Boolean).join('  ');
  const room = columns - 1 - tail.length - 2;
  const barWidth = Math.min(BAR_WIDTH, room - Math.min(j.name.length, 24) - 3);
  const filled = Math.round(fraction * barWidth);
  const bar = barWidth >= 5 ? `[${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}]` : '';
  const labelRoom = Math.max(0, room - (bar ? bar.length + 1 : 0));
  const label = j.name.length > labelRoom ? `${j.name.slice(0, Math.max(0, labelRoom - 1))}…` : j.name;
  const head = [labelRoom > 1 ? label : '', bar].filter(Boolean).join(' ');
  return (head ? `${head}  ${tail}` : tail).slice(0, columns - 1);
}

/**
 * The status line on standard error: redrawn in place on a terminal, where it steps aside for log
 * lines (cleared, then drawn again under them); on a pipe, a plain line per state change and at
 * most one every few seconds in between.
 */
class StatusLine {
  private readonly tty: boolean;
  private drawn = false;
  private text = '';
  private last = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly ctx: CliContext,
    private readonly quiet: boolean,
  ) {
    this.tty = ctx.stderr?.isTTY === true;
  }

  private get columns() {
    // A terminal that reports no size (0) gets the classic width.
    return this.ctx.stderr?.columns || 80;
  }

  show(j: TrainingJob, metrics: readonly string[], force: boolean) {
    if (this.quiet) return;
    if (this.tty) {
      this.text = renderTrainingLine(j, metrics, this.columns);
      this.redraw();
      return;
    }
    const now = Date.now();
    if (!force && now - this.last < PLAIN_EVERY_MS) return;
    this.last = now;
    this.ctx.err(renderTrainingLine(j, metrics, 200));
  }

  /** Takes the line off the screen so the next output starts at the left edge. */
  clear() {
    if (this.drawn) this.ctx.stderr?.write('\r\x1b[K');
    this.drawn = false;
  }

  redraw() {
    if (this.quiet || !this.tty || !this.text) return;
    // \x1b[K clears what a longer previous line left behind.
    this.ctx.stderr?.write(`\r${this.text}\x1b[K`);
    this.drawn = true;
  }

  /** Leaves the last state on screen and ends its line. */
  finish() {
    if (this.drawn) this.ctx.stderr?.write('\n');
    this.drawn = false;
  }
}

export interface FollowOptions {
  /** Draw the status line on standard error (not with --json). */
  progress: boolean;
  /** Receives every new log line, oldest first; without it logs are not read. */
  onLog?: (line: LogLine) => void;
  /** Ctrl-C cancels the job; otherwise it only stops following and the job runs on. */
  cancelOnInterrupt: boolean;
  /** Print the job's final state as JSON when interrupted (--json). */
  json: boolean;
  /** The id of the last log line already shown. */
  after?: number;
  intervalMs?: number;
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Polls a training job until it ends, with its log lines and a status line (state, progress, ETA,
 * latest metrics), and returns its last state. Ctrl-C ends following with exit code 130: by default
 * the job keeps running (training takes long, and stopping watching is not stopping the work);
 * with `cancelOnInterrupt` the cancel request goes out at once.
 */
export async function followTraining(
  ctx: CliContext,
  client: ApiClient,
  first: TrainingJob,
  opts: FollowOptions,
): Promise<TrainingJob> {
  const sleep = ctx.sleep ?? defaultSleep;
  const id = first.job_id;
  const line = new StatusLine(ctx, !opts.progress);
  let interrupted = false;
  let cancelling: Promise<TrainingJob | null> | null = null;
  let wake = () => {};
  const woken = new Promise<void>((resolve) => {
    wake = resolve;
  });
  const release = ctx.onInterrupt?.(() => {
    interrupted = true;
    if (opts.cancelOnInterrupt)
      cancelling ??= client.post<TrainingJob>(`${trainingPath(id)}/cancel`).catch((err: unknown) => {
        ctx.err(`Could not cancel training job ${id}: ${(err as Error).message}`);
        return null;
      });
    wake();
  });

  let after = opts.after ?? 0;
  const readLogs = async () => {
    if (!opts.onLog) return;
    for (;;) {
      const page = await client.get<JobLogsPage>(`${trainingPath(id)}/logs`, { after, limit: LOG_PAGE });
      if (page.items.length > 0) {
        line.clear();
        for (const l of page.items) opts.onLog(l);
        after = page.items[page.items.length - 1]!.id;
        line.redraw();
      }
      if (page.next_after === null) return;
      after = page.next_after;
    }
  };

  try {
    let job = first;
    let metrics: string[] = [];
    let polls = 0;
    await readLogs();
    line.show(job, metrics, true);
    while (!FINISHED.has(job.state) && !interrupted) {
      await Promise.race([sleep(opts.intervalMs ?? TRAINING_POLL_MS), woken]);
      if (interrupted) break;
      const before = job.state;
      job = await client.get<TrainingJob>(trainingPath(id));
      // Ctrl-C while the poll was on its way: nothing more is asked of the node.
      if (interrupted) break;
      await readLogs();
      if (opts.progress && job.state === 'running' && polls++ % METRICS_EVERY_POLLS === 0) {
        metrics = latestMetrics(await client.get<JobMetrics>(`${trainingPath(id)}/metrics`));
      }
      line.show(job, metrics, job.state !== before);
    }
    if (interrupted && !FINISHED.has(job.state)) {
      line.finish();
      if (cancelling) {
        const cancelled = await cancelling;
        if (cancelled && opts.json) ctx.out(json(cancelled));
        ctx.err(`Interrupted: cancelled training job ${id} (${job.name}).`);
      } else {
        if (opts.json) ctx.out(json(job));
        ctx.err(
          `Stopped following training job ${id} (${job.name}, ${job.state}); it keeps going. ` +
            `Follow it again with \`polar jobs logs ${id} --follow\`, stop it with \`polar jobs cancel ${id}\`.`,
        );
      }
      throw new SilentExit(EXIT_INTERRUPTED);
    }
    return job;
  } finally {
    line.finish();
    release?.();
  }
}

/**
 * Reports how a followed job ended: the registered model on success (exit 0), the reason on
 * failure or cancellation (exit 1). With --json the job itself is the output either way.
 */
export function reportOutcome(ctx: CliContext, job: TrainingJob, asJson: boolean): void {
  if (asJson) ctx.out(json(job));
  if (job.state === 'succeeded') {
    if (asJson) return;
    const summary = metricSummary(job.metrics);
    const registered = job.result
      ? `model ${job.result.model_name} version ${job.result.version}`
      : 'no version registered';
    ctx.out(`Training job ${job.job_id} succeeded: ${registered}${summary ? ` (${summary})` : ''}.`);
    return;
  }
  const reason = job.error
    ? `${job.error.message} (${job.error.code})`
    : job.message || (job.state === 'cancelled' ? 'cancelled' : 'no reason given');
  ctx.err(
    `Error: training job ${job.job_id} ${job.state === 'cancelled' ? 'was cancelled' : 'failed'}: ${reason}`,
  );
  throw new SilentExit(1);
}
