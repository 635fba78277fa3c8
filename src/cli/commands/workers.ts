import type { Command } from 'commander';
import type { TrainingWorkerView, WorkerList } from '../../forge/workers/schema.js';
import { type CliContext, clientOf, print } from '../context.js';
import { type Column, table } from '../output.js';
import { duration } from '../progress.js';
import { intOption } from '../values.js';

const WORKERS = '/api/v1/workers';
const workerPath = (id: string) => `${WORKERS}/${encodeURIComponent(id)}`;

/** `4s ago`: how fresh a worker's heartbeat is says more than the time it was sent. */
export function age(iso: string, now = Date.now()): string {
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return iso;
  return `${duration(Math.max(0, (now - t) / 1000))} ago`;
}

const workerColumns = (now: number): Column<TrainingWorkerView>[] => [
  { header: 'id', value: (w) => w.id },
  { header: 'host', value: (w) => `${w.host}${w.local ? '' : ' (other node)'}` },
  { header: 'pid', value: (w) => String(w.pid) },
  { header: 'state', value: (w) => w.state },
  { header: 'job', value: (w) => w.current_job_id ?? '-' },
  { header: 'heartbeat', value: (w) => age(w.heartbeat_at, now) },
];

const workerTable = (l: WorkerList) => table(l.items, workerColumns(Date.now()));

export function registerWorkers(program: Command, ctx: CliContext) {
  const workers = program
    .command('workers')
    .description('Training workers of every node (`polar workers` lists them); scale, drain, start, stop');

  workers
    .command('ls', { isDefault: true })
    .alias('list')
    .description('List the workers: state, the job each runs, heartbeat age')
    .action(async (_opts: unknown, cmd: Command) => {
      const client = await clientOf(ctx, cmd);
      print(ctx, cmd, await client.get<WorkerList>(WORKERS), workerTable);
    });

  workers
    .command('scale')
    .description('Run this many workers on the node answering (until it restarts; admins)')
    .argument('<count>', '0-64; busy workers above it finish their job first', intOption(0, 64))
    .action(async (count: number, _opts: unknown, cmd: Command) => {
      const client = await clientOf(ctx, cmd);
      const list = await client.post<WorkerList>(`${WORKERS}/scale`, { count });
      print(ctx, cmd, list, (l) => `Scaled to ${count} worker(s).\n${workerTable(l)}`);
    });

  const verbs = [
    ['drain', 'Let a worker finish its job and take no new one (admins)'],
    ['stop', 'Stop a worker now: its job goes back to the queue, the attempt not counted (admins)'],
    ['start', 'Let a stopped or draining worker take jobs again (admins)'],
  ] as const;
  for (const [verb, description] of verbs) {
    workers
      .command(verb)
      .description(description)
      .argument('<worker>', 'worker id (as `polar workers` lists it)')
      .action(async (id: string, _opts: unknown, cmd: Command) => {
        const client = await clientOf(ctx, cmd);
        const w = await client.post<TrainingWorkerView>(`${workerPath(id)}/${verb}`);
        print(
          ctx,
          cmd,
          w,
          (x) => `Worker ${x.id} is ${x.state}${x.current_job_id ? ` (job ${x.current_job_id})` : ''}.`,
        );
      });
  }
}
