import type { Command } from 'commander';
import type { LoginResponse, MeResponse } from '../../hub/auth/schema.js';
import { ApiClient } from '../client.js';
import { type CliContext, clientOf, globalsOf, print, resolveTarget } from '../context.js';
import { removeCredentials, saveCredentials } from '../credentials.js';
import { ApiError, UnreachableError, UsageError } from '../errors.js';
import { fields, json, time } from '../output.js';

export function registerAuth(program: Command, ctx: CliContext) {
  program
    .command('login')
    .description('Sign in to a node and save the session for later commands')
    .option('-u, --username <name>', 'user to sign in as (asked when omitted)')
    .option('--password-stdin', 'read the password from standard input (first line) instead of a prompt')
    .action(async (opts: { username?: string; passwordStdin?: boolean }, cmd: Command) => {
      const g = globalsOf(ctx, cmd);
      const target = await resolveTarget(ctx, g);
      const p = ctx.prompter;
      if (!p.interactive && !opts.passwordStdin) {
        throw new UsageError('No terminal to ask for the password: pipe it in with --password-stdin');
      }
      let username = opts.username;
      if (!username) {
        if (!p.interactive) throw new UsageError('Give --username when input is not a terminal');
        const suggested = target.saved?.username;
        username = (await p.ask(suggested ? `Username [${suggested}]: ` : 'Username: ')).trim() || suggested;
        if (!username) throw new UsageError('A username is required');
      }
      const password = await p.ask('Password: ', { hidden: true });
      // No token: signing in must not depend on (or send) an older one.
      const client = new ApiClient({ baseUrl: target.baseUrl, fetch: ctx.fetch });
      const r = await client.post<LoginResponse>('/api/v1/auth/login', { username, password });
      const file = await saveCredentials(ctx.config.configDir, {
        url: target.baseUrl,
        token: r.token,
        username: r.user.username,
        expires_at: r.expires_at,
      });
      if (g.json) {
        // The session token goes to the 0600 file only, never to stdout where logs would keep it.
        ctx.out(
          json({ url: target.baseUrl, user: r.user, expires_at: r.expires_at, credentials_file: file }),
        );
        return;
      }
      ctx.out(`Signed in to ${target.baseUrl} as ${r.user.username} (${r.user.role}).`);
      ctx.out(`Session saved to ${file}; it expires ${time(r.expires_at)}.`);
      if (r.user.must_change_password)
        ctx.err('This password was generated: change it now with `polar passwd`.');
    });

  program
    .command('logout')
    .description('End the saved session on the node and forget it')
    .action(async (_opts: unknown, cmd: Command) => {
      const g = globalsOf(ctx, cmd);
      const { saved } = await resolveTarget(ctx, g);
      let ended = false;
      if (saved) {
        try {
          await new ApiClient({ baseUrl: saved.url, token: saved.token, fetch: ctx.fetch }).post(
            '/api/v1/auth/logout',
          );
          ended = true;
        } catch (err) {
          // An expired session is already over; an unreachable node keeps it until it expires.
          if (err instanceof ApiError && err.status === 401) ended = true;
          else if (err instanceof UnreachableError) ctx.err(`Warning: ${err.message}`);
          else throw err;
        }
      }
      const removed = await removeCredentials(ctx.config.configDir);
      if (g.json) ctx.out(json({ logged_out: removed, session_ended: ended }));
      else ctx.out(removed ? `Signed out${saved ? ` of ${saved.url}` : ''}.` : 'Not signed in.');
    });

  program
    .command('whoami')
    .description('Show who the current credentials belong to and what they may do')
    .action(async (_opts: unknown, cmd: Command) => {
      const client = await clientOf(ctx, cmd);
      print(ctx, cmd, await client.get<MeResponse>('/api/v1/auth/me'), (me) =>
        fields([
          ['user', me.user.username],
          ['id', me.user.id],
          ['role', me.user.role],
          ['via', me.via === 'key' ? `API key ${me.key_id}` : 'session'],
          ['node', client.baseUrl],
          ['permissions', me.permissions.join(', ')],
        ]),
      );
    });

  program
    .command('passwd')
    .description('Change your own password (your other sessions are signed out)')
    .option('--password-stdin', 'read the current and the new password from standard input, one per line')
    .action(async (opts: { passwordStdin?: boolean }, cmd: Command) => {
      const p = ctx.prompter;
      if (!p.interactive && !opts.passwordStdin) {
        throw new UsageError('No terminal to ask for passwords: pipe them in with --password-stdin');
      }
      const current = await p.ask('Current password: ', { hidden: true });
      const next = await p.ask('New password: ', { hidden: true });
      if (p.interactive && (await p.ask('Repeat new password: ', { hidden: true })) !== next) {
        throw new UsageError('The new passwords do not match');
      }
      const client = await clientOf(ctx, cmd);
      await client.post('/api/v1/auth/password', { current_password: current, new_password: next });
      if (globalsOf(ctx, cmd).json) ctx.out(json({ changed: true }));
      else ctx.out('Password changed. Your other sessions were signed out.');
    });
}
