import type { Command } from 'commander';
import type { CreatedKey, KeyView } from '../../hub/keys/schema.js';
import type { Page } from '../client.js';
import { type CliContext, clientOf, globalsOf, nextPageHint, print } from '../context.js';
import { type Column, fields, json, table, time } from '../output.js';
import { intOption, listOption } from '../values.js';
import { findUser } from './users.js';

const state = (k: KeyView) => {
  if (k.revoked_at) return 'revoked';
  if (k.expires_at && Date.parse(k.expires_at) <= Date.now()) return 'expired';
  return 'active';
};

const keyColumns: Column<KeyView>[] = [
  { header: 'id', value: (k) => k.id },
  { header: 'name', value: (k) => k.name },
  { header: 'key', value: (k) => `pk_…${k.last4}` },
  { header: 'state', value: state },
  { header: 'scopes', value: (k) => k.scopes.join(',') },
  { header: 'expires', value: (k) => time(k.expires_at) },
  { header: 'last used', value: (k) => time(k.last_used_at) },
];

const keyFields = (k: KeyView) =>
  fields([
    ['id', k.id],
    ['name', k.name],
    ['key', `pk_…${k.last4}`],
    ['state', state(k)],
    ['owner', k.user_id],
    ['scopes', k.scopes.join(', ')],
    ['created', time(k.created_at)],
    ['expires', time(k.expires_at)],
    ['revoked', time(k.revoked_at)],
    ['last used', time(k.last_used_at)],
  ]);

export function registerKeys(program: Command, ctx: CliContext) {
  const keys = program.command('keys').description('Manage API keys (your own; admins: anyone’s)');

  keys
    .command('ls')
    .alias('list')
    .description('List API keys')
    .option('--user <user>', "another user's keys (admin; id or username)")
    .option('-a, --all', "every user's keys (admin)")
    .option('--include-revoked', 'also list revoked keys')
    .option('-n, --limit <n>', 'at most this many (1-200)', intOption(1, 200))
    .option('--cursor <cursor>', 'continue after a previous page')
    .action(
      async (
        opts: { user?: string; all?: boolean; includeRevoked?: boolean; limit?: number; cursor?: string },
        cmd: Command,
      ) => {
        const client = await clientOf(ctx, cmd);
        const userId = opts.user ? (await findUser(client, opts.user)).id : undefined;
        const page = await client.get<Page<KeyView>>('/api/v1/keys', {
          user_id: userId,
          all: opts.all ? 'true' : undefined,
          include_revoked: opts.includeRevoked ? 'true' : undefined,
          limit: opts.limit,
          cursor: opts.cursor,
        });
        print(ctx, cmd, page, (p) => table(p.items, keyColumns));
        nextPageHint(ctx, cmd, page.next_cursor);
      },
    );

  keys
    .command('show')
    .alias('get')
    .description('Show one API key (never the key itself)')
    .argument('<id>', 'key id')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const client = await clientOf(ctx, cmd);
      print(ctx, cmd, await client.get<KeyView>(`/api/v1/keys/${encodeURIComponent(id)}`), keyFields);
    });

  keys
    .command('create')
    .description('Create an API key; the key is printed once and cannot be shown again')
    .argument('<name>', 'what the key is for')
    .option('--scopes <list>', 'comma-separated permissions (default: all of yours)', listOption)
    .option('--expires-in-days <days>', 'expire after this many days (1-3650)', intOption(1, 3650))
    .action(async (name: string, opts: { scopes?: string[]; expiresInDays?: number }, cmd: Command) => {
      const client = await clientOf(ctx, cmd);
      const created = await client.post<CreatedKey>('/api/v1/keys', {
        name,
        ...(opts.scopes ? { scopes: opts.scopes } : {}),
        ...(opts.expiresInDays ? { expires_in_days: opts.expiresInDays } : {}),
      });
      if (globalsOf(ctx, cmd).json) {
        ctx.out(json(created));
      } else {
        // The key alone on stdout, so `polar keys create ci > key.txt` captures just the key.
        ctx.out(created.key);
        const expiry = created.expires_at ? `expires ${time(created.expires_at)}` : 'never expires';
        ctx.err(
          `Created key ${created.name} (id ${created.id}, ${expiry}, scopes: ${created.scopes.join(',')}).`,
        );
      }
      ctx.err(
        'Warning: store this key now; it will not be shown again (only its last 4 characters are kept).',
      );
    });

  keys
    .command('revoke')
    .alias('rm')
    .description('Revoke an API key (it stops working at once)')
    .argument('<id>', 'key id')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const client = await clientOf(ctx, cmd);
      const key = await client.delete<KeyView>(`/api/v1/keys/${encodeURIComponent(id)}`);
      print(ctx, cmd, key, (k) => `Revoked key ${k.name} (${k.id}, pk_…${k.last4}).`);
    });
}
