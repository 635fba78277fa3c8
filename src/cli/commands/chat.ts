import type { Command } from 'commander';
import type { ApiClient } from '../client.js';
import { type CliContext, clientOf, globalsOf } from '../context.js';
import { ApiError, describeError, SilentExit, UnreachableError, UsageError } from '../errors.js';
import type { Terminal } from '../lines.js';
import { fields, json } from '../output.js';
import {
  CHAT_PARAMETERS,
  type ChatParameters,
  checkParameter,
  formatParameters,
  parseParameterValue,
  parseSetOptions,
} from './chat-settings.js';
import { type ChatMessage, type Reply, statsLine, streamChat } from './chat-stream.js';
import { modelPath } from './models.js';
import { EXIT_INTERRUPTED } from './pull.js';
import { parseModelRef } from './serving.js';

/** What one conversation carries from turn to turn. */
export interface ChatSession {
  model: string;
  system: string | null;
  params: ChatParameters;
  history: ChatMessage[];
  stats: boolean;
}

const HELP = `Commands:
  /set <parameter> <value>  change a generation setting for the next replies (/set lists them)
  /set system <text>        a system prompt placed before the conversation
  /set stats on|off         timings after each reply (time to first token, tokens/s)
  /unset <parameter>        back to the model's own setting (also: /unset system)
  /show                     current settings, the model's defaults and the history length
  /clear                    forget the conversation so far (settings stay)
  /help                     this list
  /bye                      leave (or Ctrl-D)
Ctrl-C stops a reply; """ starts and ends a message of several lines.`;

const setHelp = () =>
  [
    'Settings (/set <name> <value>):',
    ...Object.entries(CHAT_PARAMETERS).map(([name, p]) => `  ${name.padEnd(19)} ${p.help}`),
    `  ${'system'.padEnd(19)} the system prompt (the rest of the line)`,
    `  ${'stats'.padEnd(19)} on or off`,
  ].join('\n');

const dim = (ctx: CliContext, text: string) =>
  ctx.stderr?.isTTY && !process.env.NO_COLOR ? `\x1b[2m${text}\x1b[0m` : text;

function requestBody(s: ChatSession, message: string) {
  return {
    model: s.model,
    messages: [
      ...(s.system ? [{ role: 'system', content: s.system }] : []),
      ...s.history,
      { role: 'user', content: message },
    ],
    ...s.params,
  };
}

/**
 * One exchange: the reply streams to standard output as it arrives (or is printed whole when there
 * is no raw output), Ctrl-C stops it, and the timings follow on standard error when asked.
 */
async function exchange(
  ctx: CliContext,
  client: ApiClient,
  s: ChatSession,
  message: string,
  opts: { busy: (onInterrupt: () => void) => () => void; quiet?: boolean },
): Promise<Reply> {
  const stop = new AbortController();
  const release = opts.busy(() => stop.abort());
  const raw = opts.quiet ? undefined : ctx.stdout;
  let reply: Reply;
  try {
    reply = await streamChat(client, requestBody(s, message), {
      signal: stop.signal,
      onText: (text) => raw?.write(text),
    });
  } finally {
    release();
  }
  if (!opts.quiet) {
    if (raw) {
      if (reply.text) raw.write('\n');
    } else if (reply.text) ctx.out(reply.text);
  }
  if (reply.interrupted) ctx.err(dim(ctx, '(stopped)'));
  if (s.stats && !opts.quiet) ctx.err(dim(ctx, statsLine(reply.timings, reply.interrupted)));
  return reply;
}

/** The final JSON of the one-shot form: OpenAI's chat.completion, plus the timings. */
function completionJson(s: ChatSession, r: Reply) {
  return {
    id: r.id,
    object: 'chat.completion',
    created: r.created,
    model: r.model ?? s.model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: r.text },
        finish_reason: r.interrupted ? null : r.finishReason,
      },
    ],
    usage: r.usage,
    timings: {
      time_to_first_token_ms: r.timings.ttftMs,
      tokens_per_second: r.timings.tokensPerSecond,
      total_ms: r.timings.totalMs,
    },
  };
}

/** A Terminal over the prompter, for contexts that offer no line editor of their own. */
function prompterTerminal(ctx: CliContext): Terminal {
  return {
    interactive: ctx.prompter.interactive,
    read: (prompt) => ctx.prompter.ask(prompt).catch(() => null),
    busy: (onInterrupt) => ctx.onInterrupt?.(onInterrupt) ?? (() => {}),
    close() {},
  };
}

/** Reads a message; `"""` on its own (or at the start of a line) begins one of several lines. */
async function readMessage(term: Terminal): Promise<string | null> {
  const first = await term.read('>>> ');
  if (first === null || !first.trimStart().startsWith('"""')) return first;
  const lines = [first.trimStart().slice(3)];
  for (;;) {
    const last = lines[lines.length - 1]!;
    if (lines.length > 1 || last.length > 0) {
      if (last.trimEnd().endsWith('"""')) {
        lines[lines.length - 1] = last.trimEnd().slice(0, -3);
        return lines.join('\n').trim();
      }
    }
    const next = await term.read('... ');
    if (next === null) return lines.join('\n').trim();
    lines.push(next);
  }
}

/** Runs one `/...` line; returns false when the session should end. */
async function slashCommand(
  ctx: CliContext,
  client: ApiClient,
  s: ChatSession,
  line: string,
): Promise<boolean> {
  const [, word = '', rest = ''] = /^\/(\S*)\s*([\s\S]*)$/.exec(line.trim()) ?? [];
  switch (word) {
    case 'bye':
    case 'exit':
    case 'quit':
      return false;
    case 'help':
    case '?':
      ctx.out(HELP);
      return true;
    case 'clear':
      s.history = [];
      ctx.out('Cleared the conversation.');
      return true;
    case 'show':
      ctx.out(await showText(client, s));
      return true;
    case 'unset': {
      const name = rest.trim();
      if (name === 'system') s.system = null;
      else if (name in CHAT_PARAMETERS) delete s.params[name];
      else throw new UsageError(`Nothing to unset named '${name}'; /set lists the settings`);
      ctx.out(`Unset ${name}.`);
      return true;
    }
    case 'set': {
      const [, name = '', value = ''] = /^(\S*)\s*([\s\S]*)$/.exec(rest) ?? [];
      if (name === '') {
        ctx.out(setHelp());
      } else if (name === 'system') {
        if (!value.trim())
          throw new UsageError('Give the text: /set system <text> (/unset system removes it)');
        s.system = value.trim();
        ctx.out('Set the system prompt.');
      } else if (name === 'stats') {
        if (!/^(on|off)$/.test(value.trim())) throw new UsageError('Use /set stats on or /set stats off');
        s.stats = value.trim() === 'on';
        ctx.out(`Stats ${value.trim()}.`);
      } else {
        s.params[name] = checkParameter(name, parseParameterValue(name, value));
        ctx.out(`Set ${name} to ${JSON.stringify(s.params[name])}.`);
      }
      return true;
    }
    default:
      throw new UsageError(`Unknown command '/${word}'; /help lists them`);
  }
}

async function showText(client: ApiClient, s: ChatSession): Promise<string> {
  let defaults: string;
  try {
    const view = await client.get<{ parameters: Record<string, unknown> }>(
      `${modelPath(parseModelRef(s.model).model)}/parameters`,
    );
    defaults = formatParameters(view.parameters);
  } catch (err) {
    defaults = `(not available: ${err instanceof Error ? err.message : String(err)})`;
  }
  return fields([
    ['model', s.model],
    ['system', s.system ?? '-'],
    ['settings', formatParameters(s.params)],
    ['model defaults', defaults],
    ['history', `${s.history.length / 2} exchange${s.history.length === 2 ? '' : 's'}`],
    ['stats', s.stats ? 'on' : 'off'],
  ]);
}

/** The interactive conversation; ends with /bye or the end of input. */
export async function chatLoop(ctx: CliContext, client: ApiClient, s: ChatSession, term: Terminal) {
  ctx.err(`Chatting with ${s.model}. /help for commands, /bye or Ctrl-D to leave.`);
  for (;;) {
    const line = await readMessage(term);
    if (line === null) break;
    if (line.trim() === '') continue;
    try {
      if (line.startsWith('/')) {
        if (!(await slashCommand(ctx, client, s, line))) break;
        continue;
      }
      const reply = await exchange(ctx, client, s, line, { busy: (h) => term.busy(h) });
      // A stopped reply stays in the history as far as it was shown, so the model sees what the user saw.
      if (reply.text || !reply.interrupted) {
        s.history.push({ role: 'user', content: line }, { role: 'assistant', content: reply.text });
      }
    } catch (err) {
      // A refused setting or a failed request ends that exchange, not the conversation.
      if (!(err instanceof ApiError || err instanceof UsageError || err instanceof UnreachableError))
        throw err;
      ctx.err(describeError(err));
    }
  }
}

async function readAll(term: Terminal): Promise<string> {
  const lines: string[] = [];
  for (let line = await term.read(''); line !== null; line = await term.read('')) lines.push(line);
  return lines.join('\n').trim();
}

const collect = (raw: string, previous: string[] = []) => [...previous, raw];

interface ChatOptions {
  system?: string;
  set?: string[];
  stats?: boolean;
}

export function registerChat(program: Command, ctx: CliContext) {
  program
    .command('chat')
    .description('Chat with a model, streaming its replies; with a prompt (or piped input) answer once')
    .argument('<model>', 'name, name:version or name@alias')
    .argument('[prompt...]', 'answer this and exit (default: read it from piped input, else talk)')
    .option('--system <text>', 'a system prompt')
    .option('--set <name=value>', 'a generation setting, e.g. temperature=0.2 (repeatable)', collect)
    .option('--stats', 'print the timings after a one-shot reply (a conversation shows them by default)')
    .option('--no-stats', 'no timings after replies')
    .addHelpText('after', `\nIn a conversation:\n${HELP}`)
    .action(async (model: string, words: string[], opts: ChatOptions, cmd: Command) => {
      parseModelRef(model);
      const session: ChatSession = {
        model,
        system: opts.system ?? null,
        params: parseSetOptions(opts.set ?? []),
        history: [],
        stats: opts.stats ?? false,
      };
      const client = await clientOf(ctx, cmd);
      let prompt = words.join(' ').trim();
      if (prompt === '') {
        const term = ctx.terminal?.() ?? prompterTerminal(ctx);
        try {
          if (term.interactive) {
            session.stats = opts.stats ?? true;
            return await chatLoop(ctx, client, session, term);
          }
          prompt = await readAll(term);
        } finally {
          term.close();
        }
        if (prompt === '') throw new UsageError('No prompt: give one after the model, or pipe it in');
      }
      const asJson = globalsOf(ctx, cmd).json === true;
      const reply = await exchange(ctx, client, session, prompt, {
        busy: (h) => ctx.onInterrupt?.(h) ?? (() => {}),
        quiet: asJson,
      });
      if (asJson) ctx.out(json(completionJson(session, reply)));
      if (reply.interrupted) throw new SilentExit(EXIT_INTERRUPTED);
    });
}
