import { type Command, Option } from 'commander';
import type { UserView } from '../../hub/users/schema.js';
import type { ApiClient, Page } from '../client.js';
import { type CliContext, clientOf, nextPageHint, print } from '../context.js';
import { ApiError, UsageError } from '../errors.js';
import type { Prompter } from '../lines.js';
import { type Column, fields, table, time, yesNo } from '../output.js';
import { intOption } from '../values.js';

const ROLES = ['admin', 'developer', 'user'];

const userColumns: Column<UserView>[] = [
  { header: 'id', value: (u) => u.id },
  { header: 'username', value: (u) => u.username },
  { header: 'role', value: (u) => u.role },
  { header: 'disabled', value: (u) => yesNo(u.disabled) },
  { header: 'last login', value: (u) => time(u.last_login_at) },
  { header: 'created', value: (u) => time(u.created_at) },
];

const userFields = (u: UserView) =>
  fields([
    ['id', u.id],
    ['username', u.username],
    ['role', u.role],
    ['disabled', yesNo(u.disabled)],
    ['must change password', yesNo(u.must_change_password)],
    ['created', time(u.created_at)],
    ['updated', time(u.updated_at)],
    ['last login', time(u.last_login_at)],
  ]);

/**
 * Finds a user by id or by username, so people can type names. The id is tried first; a 404 then
 * falls back to an exact username match (which needs users:read), else the original 404 stands.
 */
export async function findUser(client: ApiClient, ref: string): Promise<UserView> {
  try {
    return await client.get<UserView>(`/api/v1/users/${encodeURIComponent(ref)}`);
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 404) throw err;
    const page = await client
      .get<Page<UserView>>('/api/v1/users', { search: ref, limit: 200 })
      .catch(() => ({ items: [] as UserView[] }));
    const match = page.items.find((u) => u.username === ref);
    if (!match) throw err;
    return match;
  }
}

/** A new password from a prompt (typed twice) or from the first line of standard input. */
async function newPassword(p: Prompter, fromStdin: boolean | undefined, label: string): Promise<string> {
  if (!p.interactive && !fromStdin) {
    throw new UsageError('No terminal to ask for the password: pipe it in with --password-stdin');
  }
  const password = await p.ask(`${label}: `, { hidden: true });
  if (p.interactive && (await p.ask(`Repeat ${label.toLowerCase()}: `, { hidden: true })) !== password) {
    throw new UsageError('The passwords do not match');
  }
  return password;
}

export function registerUsers(program: Command, ctx: CliContext) {
  const users = program.command('users').description('Manage users (admin)');
  const roleOption = () => new Option('-r, --role <role>', 'role').choices(ROLES);

  users
    .command('ls')
    .alias('list')
    .description('List users')
    .option('-s, --search <text>', 'only usernames containing this text')
    .addOption(roleOption())
    .option('-n, --limit <n>', 'at most this many (1-200)', intOption(1, 200))
    .option('--cursor <cursor>', 'continue after a previous page')
    .action(
      async (opts: { search?: string; role?: string; limit?: number; cursor?: string }, cmd: Command) => {
        const client = await clientOf(ctx, cmd);
        const page = await client.get<Page<UserView>>('/api/v1/users', {
          search: opts.search,
          role: opts.role,
          limit: opts.limit,
          cursor: opts.cursor,
        });
        print(ctx, cmd, page, (p) => table(p.items, userColumns));
        nextPageHint(ctx, cmd, page.next_cursor);
      },
    );

  users
    .command('show')
    .alias('get')
    .description('Show one user')
    .argument('<user>', 'id or username')
    .action(async (ref: string, _opts: unknown, cmd: Command) => {
      const client = await clientOf(ctx, cmd);
      print(ctx, cmd, await findUser(client, ref), userFields);
    });

  users
    .command('create')
    .description('Create a user (the password is asked, or read with --password-stdin)')
    .argument('<username>', 'letters, digits, _ . - (3-64 characters)')
    .addOption(roleOption().default('user'))
    .option('--password-stdin', 'read the password from standard input (first line)')
    .action(async (username: string, opts: { role: string; passwordStdin?: boolean }, cmd: Command) => {
      const client = await clientOf(ctx, cmd);
      const password = await newPassword(ctx.prompter, opts.passwordStdin, 'Password');
      const user = await client.post<UserView>('/api/v1/users', { username, password, role: opts.role });
      print(ctx, cmd, user, (u) => `Created user ${u.username} (${u.role}, id ${u.id}).`);
    });

  users
    .command('update')
    .description("Change a user's role, or reset their password")
    .argument('<user>', 'id or username')
    .addOption(roleOption())
    .option('--reset-password', 'set a new password (asked, or read with --password-stdin)')
    .option('--password-stdin', 'read the new password from standard input (first line)')
    .action(
      async (
        ref: string,
        opts: { role?: string; resetPassword?: boolean; passwordStdin?: boolean },
        cmd: Command,
      ) => {
        if (!opts.role && !opts.resetPassword)
          throw new UsageError('Nothing to change: give --role or --reset-password');
        const client = await clientOf(ctx, cmd);
        const user = await findUser(client, ref);
        const body: Record<string, unknown> = {};
        if (opts.role) body.role = opts.role;
        if (opts.resetPassword)
          body.password = await newPassword(ctx.prompter, opts.passwordStdin, 'New password');
        const updated = await client.patch<UserView>(`/api/v1/users/${user.id}`, body);
        print(ctx, cmd, updated, (u) => `Updated user ${u.username} (${u.role}).`);
      },
    );

  for (const [name, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    users
      .command(name)
      .description(
        disabled
          ? 'Disable a user: their sessions, keys and connections stop working at once'
          : 'Enable a disabled user',
      )
      .argument('<user>', 'id or username')
      .action(async (ref: string, _opts: unknown, cmd: Command) => {
        const client = await clientOf(ctx, cmd);
        const user = await findUser(client, ref);
        const updated = await client.patch<UserView>(`/api/v1/users/${user.id}`, { disabled });
        print(ctx, cmd, updated, (u) => `User ${u.username} is now ${disabled ? 'disabled' : 'enabled'}.`);
      });
  }

  users
    .command('delete')
    .alias('rm')
    .description('Delete a user and revoke their keys and sessions')
    .argument('<user>', 'id or username')
    .option('-y, --yes', 'do not ask for confirmation')
    .action(async (ref: string, opts: { yes?: boolean }, cmd: Command) => {
      const client = await clientOf(ctx, cmd);
      const user = await findUser(client, ref);
      if (!opts.yes) {
        if (!ctx.prompter.interactive)
          throw new UsageError('Deleting needs --yes when input is not a terminal');
        const answer = await ctx.prompter.ask(`Delete user ${user.username} (${user.id})? [y/N] `);
        if (!/^y(es)?$/i.test(answer.trim())) throw new Error('Cancelled: the user was not deleted');
      }
      await client.delete(`/api/v1/users/${user.id}`);
      print(
        ctx,
        cmd,
        { deleted: true, id: user.id, username: user.username },
        () => `Deleted user ${user.username}.`,
      );
    });
}
