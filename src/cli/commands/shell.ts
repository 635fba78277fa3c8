import type { Command } from 'commander';
import { type CliContext, globalsOf } from '../context.js';
import { SilentExit } from '../errors.js';
import { runShell } from '../shell/session.js';

export function registerShell(program: Command, ctx: CliContext) {
  program
    .command('shell')
    .description('Interactive admin terminal on a running node: history, Tab completion, help')
    .action(async (_opts: unknown, cmd: Command) => {
      const code = await runShell(ctx, globalsOf(ctx, cmd));
      if (code !== 0) throw new SilentExit(code);
    });
}
