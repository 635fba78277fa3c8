import { type Command, Option } from 'commander';
import type { AuditRecord } from '../../hub/audit/schema.js';
import type { Page } from '../client.js';
import { type CliContext, clientOf, nextPageHint, print } from '../context.js';
import { type Column, table, time } from '../output.js';
import { intOption } from '../values.js';

const auditColumns: Column<AuditRecord>[] = [
  { header: 'at', value: (r) => time(r.at) },
  { header: 'actor', value: (r) => r.actor_name ?? r.actor_kind },
  { header: 'action', value: (r) => r.action },
  { header: 'target', value: (r) => (r.target_type ? `${r.target_type}:${r.target_id ?? ''}` : '-') },
  { header: 'outcome', value: (r) => r.outcome },
  { header: 'request', value: (r) => r.request_id ?? '-' },
];

export function registerAudit(program: Command, ctx: CliContext) {
  program
    .command('audit')
    .description('The audit log, newest first (admin)')
    .option('--action <action>', 'only this action (e.g. auth.login)')
    .option('--actor <userId>', 'only actions by this user id')
    .option('--target-type <type>', 'only this kind of target (e.g. user, key, settings)')
    .option('--target <id>', 'only this target id')
    .addOption(
      new Option('--outcome <outcome>', 'only this outcome').choices(['success', 'failure', 'denied']),
    )
    .option('--since <iso>', 'only records at or after this time (ISO 8601)')
    .option('--until <iso>', 'only records before this time (ISO 8601)')
    .option('-n, --limit <n>', 'at most this many (1-500)', intOption(1, 500))
    .option('--cursor <cursor>', 'continue after a previous page')
    .action(async (opts: Record<string, string | number | undefined>, cmd: Command) => {
      const client = await clientOf(ctx, cmd);
      const page = await client.get<Page<AuditRecord>>('/api/v1/audit', {
        action: opts.action,
        actor_id: opts.actor,
        target_type: opts.targetType,
        target_id: opts.target,
        outcome: opts.outcome,
        since: opts.since,
        until: opts.until,
        limit: opts.limit,
        cursor: opts.cursor,
      });
      print(ctx, cmd, page, (p) => table(p.items, auditColumns));
      nextPageHint(ctx, cmd, page.next_cursor);
    });
}
