import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { ApiClient } from '../client.js';
import { type CliContext, type GlobalOptions, resolveTarget } from '../context.js';
import { describeError, EXIT } from '../errors.js';
import { LineSource } from '../lines.js';
import { createProgram, runCli } from '../program.js';
import { complete, completionTree } from './completion.js';
import { HISTORY_SIZE, historyPath, loadHistory, saveHistory } from './history.js';
import { splitWords } from './words.js';

export interface ShellStreams {
  input: NodeJS.ReadableStream & { isTTY?: boolean };
  output: NodeJS.WritableStream & { isTTY?: boolean };
}

/** Commands after which the signed-in user may have changed, so the prompt is refreshed. */
const CHANGES_IDENTITY = new Set(['login', 'logout', 'passwd']);

/**
 * `polar shell`: reads command lines and runs each through the very same program as the one-shot
 * CLI (built fresh per line), against a running node's API. On a terminal it has a prompt, history
 * and Tab completion; from a pipe it runs the lines as a script. Returns the exit code of the last
 * command, like a POSIX shell.
 */
export async function runShell(
  ctx: CliContext,
  globals: GlobalOptions,
  streams: ShellStreams = { input: process.stdin, output: process.stdout },
): Promise<number> {
  const terminal = streams.input.isTTY === true && streams.output.isTTY === true;
  const shellCtx: CliContext = { ...ctx, inShell: true, defaults: { ...ctx.defaults, ...globals } };
  const tree = completionTree(createProgram(shellCtx));
  const historyFile = historyPath(ctx.config.configDir);
  const rl = createInterface({
    input: streams.input,
    output: streams.output,
    terminal,
    history: terminal ? loadHistory(historyFile) : [],
    historySize: terminal ? HISTORY_SIZE : 0,
    removeHistoryDuplicates: true,
    ...(terminal ? { completer: (line: string) => complete(tree, line) } : {}),
  });
  // Created before the history listener below: it drops hidden answers (passwords) from history
  // before they could be saved.
  const lines = new LineSource(rl);
  if (terminal) {
    rl.on('history', (history: string[]) => {
      try {
        saveHistory(historyFile, history);
      } catch (err) {
        ctx.err(`Warning: cannot save history: ${(err as Error).message}`);
      }
    });
  }
  // A command that talks back and forth (`chat`) reads the shell's own lines: a second reader on
  // standard input would steal them. Ctrl-C while it works goes to its handler.
  let interrupt: (() => void) | null = null;
  const lineTerminal = {
    interactive: terminal,
    read: (prompt: string) => lines.next(prompt),
    busy(handler: () => void) {
      interrupt = handler;
      return () => {
        if (interrupt === handler) interrupt = null;
      };
    },
    close() {},
  };
  const lineCtx: CliContext = { ...shellCtx, prompter: lines.prompter(), terminal: () => lineTerminal };

  let busy = false;
  rl.on('SIGINT', () => {
    // Ctrl-C abandons the line being typed, as in bash; Ctrl-D (or `exit`) leaves.
    if (busy) return interrupt?.();
    rl.write(null, { ctrl: true, name: 'e' });
    rl.write(null, { ctrl: true, name: 'u' });
    streams.output.write('^C\n');
    rl.prompt();
  });

  let who = await identify(lineCtx);
  if (terminal) {
    ctx.out(`Polar shell: ${who.url} as ${who.user}. Type help for commands; Tab completes; Ctrl-D leaves.`);
  }
  let last: number = EXIT.ok;
  for (;;) {
    const line = await lines.next(`${who.user}@${who.host}> `);
    if (line === null) break;
    let words: string[];
    try {
      words = splitWords(line);
    } catch (err) {
      ctx.err(describeError(err));
      last = EXIT.usage;
      continue;
    }
    const [first, ...rest] = words;
    if (first === undefined) continue;
    if (first === 'exit' || first === 'quit') break;
    busy = true;
    try {
      if (first === 'help' && rest.length === 0) {
        ctx.out(overview(createProgram(lineCtx)));
        last = EXIT.ok;
      } else {
        last = await runCli(first === 'help' ? [...rest, '--help'] : words, lineCtx);
      }
      if (CHANGES_IDENTITY.has(first)) who = await identify(lineCtx);
    } finally {
      busy = false;
    }
  }
  lines.close();
  return last;
}

/** Who the prompt shows: the signed-in user at the node's host, whatever the state of the node. */
async function identify(ctx: CliContext): Promise<{ user: string; host: string; url: string }> {
  const target = await resolveTarget(ctx, ctx.defaults ?? {});
  const host = new URL(target.baseUrl).host;
  if (!target.token) return { user: '(not signed in)', host, url: target.baseUrl };
  try {
    const client = new ApiClient({ baseUrl: target.baseUrl, token: target.token, fetch: ctx.fetch });
    const me = await client.get<{ user: { username: string } }>('/api/v1/auth/me');
    return { user: me.user.username, host, url: target.baseUrl };
  } catch {
    return { user: target.saved?.username ?? '?', host, url: target.baseUrl };
  }
}

/** `help` without arguments: every command with its subcommands, in the order of the CLI. */
function overview(program: Command): string {
  const commands = program.commands.filter((c) => c.name() !== 'help');
  const width = Math.max(...commands.map((c) => c.name().length));
  const lines = ['Commands:'];
  for (const c of commands) {
    lines.push(`  ${c.name().padEnd(width)}  ${c.description()}`);
    const subs = c.commands.filter((s) => s.name() !== 'help').map((s) => s.name());
    if (subs.length) lines.push(`  ${' '.repeat(width)}  ${subs.join(' | ')}`);
  }
  lines.push(
    '',
    'help <command> [subcommand]   details of a command',
    'exit, quit or Ctrl-D          leave the shell',
    'Options --json, --url and --token work on every command; Tab completes; arrows recall history.',
  );
  return lines.join('\n');
}
