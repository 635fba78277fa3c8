import type { Command } from 'commander';
import type { SystemStatus } from '../../hub/admin/schema.js';
import { type CliContext, clientOf, print } from '../context.js';
import { bytes, fields, isObject, tree } from '../output.js';
import { intOption, listOption } from '../values.js';
import { systemFields } from './status.js';

const CLEANUP_OPERATIONS = ['clean_logs', 'clean_cache', 'clean_models', 'clean_temp', 'full_cleanup'];

/** Operation reports carry byte counts; show them readable next to the rest of the answer. */
function report(answer: unknown): string {
  if (!isObject(answer)) return tree(answer);
  const pairs: [string, string][] = Object.entries(answer).map(([k, v]) => [
    k.replaceAll('_', ' '),
    k === 'space_freed' && typeof v === 'number'
      ? bytes(v)
      : typeof v === 'object'
        ? JSON.stringify(v)
        : String(v),
  ]);
  return fields(pairs);
}

export function registerAdmin(program: Command, ctx: CliContext) {
  const admin = program.command('admin').description('Node maintenance (admin)');

  admin
    .command('system-status')
    .description('Disk, memory, loaded model and last cleanup')
    .action(async (_opts: unknown, cmd: Command) => {
      const client = await clientOf(ctx, cmd);
      print(ctx, cmd, await client.get<SystemStatus>('/api/v1/admin/system-status'), systemFields);
    });

  admin
    .command('health')
    .description('Every component with its status and latency')
    .action(async (_opts: unknown, cmd: Command) => {
      const client = await clientOf(ctx, cmd);
      print(ctx, cmd, await client.get('/health/detailed'), tree);
    });

  admin
    .command('cleanup')
    .description(`Free space: ${CLEANUP_OPERATIONS.join(', ')}`)
    .argument('<operations...>', 'what to clean')
    .option('-f, --force', 'also remove what is in use or recent')
    .action(async (operations: string[], opts: { force?: boolean }, cmd: Command) => {
      const client = await clientOf(ctx, cmd);
      const answer = await client.post('/api/v1/admin/cleanup', { operations, force: opts.force === true });
      print(ctx, cmd, answer, report);
    });

  admin
    .command('purge-logs')
    .description('Delete old log files')
    .option('--older-than-days <days>', 'only files older than this (server default 30)', intOption(0))
    .option(
      '--keep-latest-files <n>',
      'always keep this many newest files (server default 100)',
      intOption(0),
    )
    .option('--levels <list>', 'only these levels, comma-separated (e.g. debug,info)', listOption)
    .action(
      async (opts: { olderThanDays?: number; keepLatestFiles?: number; levels?: string[] }, cmd: Command) => {
        const client = await clientOf(ctx, cmd);
        const answer = await client.post('/api/v1/admin/purge-logs', {
          ...(opts.olderThanDays !== undefined ? { older_than_days: opts.olderThanDays } : {}),
          ...(opts.keepLatestFiles !== undefined ? { keep_latest_files: opts.keepLatestFiles } : {}),
          ...(opts.levels ? { log_levels: opts.levels } : {}),
        });
        print(ctx, cmd, answer, report);
      },
    );
}
