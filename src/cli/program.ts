import { Command } from 'commander';
import { registerAdmin } from './commands/admin.js';
import { registerAudit } from './commands/audit.js';
import { registerAuth } from './commands/auth.js';
import { registerChat } from './commands/chat.js';
import { registerDatasets } from './commands/datasets.js';
import { registerJobs } from './commands/jobs.js';
import { registerKeys } from './commands/keys.js';
import { registerModels } from './commands/models.js';
import { registerPull } from './commands/pull.js';
import { registerServing } from './commands/serving.js';
import { registerSettings } from './commands/settings.js';
import { registerShell } from './commands/shell.js';
import { registerStatus } from './commands/status.js';
import { registerTrain } from './commands/train.js';
import { registerUsers } from './commands/users.js';
import { registerWorkers } from './commands/workers.js';
import type { CliContext } from './context.js';
import { describeError, EXIT_CODES_HELP, exitCodeFor } from './errors.js';
import { registerServe } from './serve.js';
import { registerWorker } from './worker.js';

export const VERSION = '0.1.0';

const ENV_HELP = `Environment:
  POLAR_URL         node to talk to (default: the saved login's, else http://127.0.0.1:8000)
  POLAR_TOKEN       API key or session token (default: the one saved by \`polar login\`)
  POLAR_CONFIG_DIR  where the login and shell history are kept (default ~/.config/polar)`;

/**
 * The whole `polar` command tree. Built fresh for every run (and for every line of `polar shell`)
 * because Commander keeps parsed option values on the command objects.
 */
export function createProgram(ctx: CliContext): Command {
  const program = new Command();
  program
    .name('polar')
    .description('Polar: self-hosted platform for the whole life of AI models')
    .version(VERSION)
    .option('--json', 'print the API answer as JSON (for scripts)')
    .option('--url <url>', 'node URL (POLAR_URL)')
    .option('--token <token>', 'API key or session token (POLAR_TOKEN)')
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .configureOutput({
      writeOut: (s) => ctx.out(s.replace(/\n$/, '')),
      writeErr: (s) => ctx.err(s.replace(/\n$/, '')),
    })
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('after', `\n${ENV_HELP}\n\n${EXIT_CODES_HELP}`)
    // Throw instead of exiting, so the caller decides the exit code and the shell survives errors.
    // Set before adding commands: subcommands copy it when they are created.
    .exitOverride();

  if (!ctx.inShell) registerServe(program);
  if (!ctx.inShell) registerWorker(program);
  registerAuth(program, ctx);
  registerUsers(program, ctx);
  registerKeys(program, ctx);
  registerModels(program, ctx);
  registerPull(program, ctx);
  registerServing(program, ctx);
  registerChat(program, ctx);
  registerDatasets(program, ctx);
  registerTrain(program, ctx);
  registerJobs(program, ctx);
  registerWorkers(program, ctx);
  registerStatus(program, ctx);
  registerSettings(program, ctx);
  registerAudit(program, ctx);
  registerAdmin(program, ctx);
  if (!ctx.inShell) registerShell(program, ctx);
  return program;
}

/** Runs one command line (without the program name); returns the exit code, never throws. */
export async function runCli(args: readonly string[], ctx: CliContext): Promise<number> {
  try {
    await createProgram(ctx).parseAsync([...args], { from: 'user' });
    return 0;
  } catch (err) {
    const text = describeError(err);
    if (text) ctx.err(text);
    return exitCodeFor(err);
  }
}
