import type { Command } from 'commander';
import type { CliConfig } from '../config.js';
import { ApiClient, DEFAULT_URL, normalizeBaseUrl } from './client.js';
import { type Credentials, readCredentials } from './credentials.js';
import type { Prompter, Terminal } from './lines.js';
import { json } from './output.js';

/** Options every command accepts (declared once on the root program). */
export interface GlobalOptions {
  json?: boolean;
  url?: string;
  token?: string;
}

/** What commands get from the process (or from the shell that runs them). */
export interface CliContext {
  config: CliConfig;
  out(text: string): void;
  err(text: string): void;
  prompter: Prompter;
  fetch?: typeof fetch;
  /** Options given to `polar shell`, applied to every line unless the line overrides them. */
  defaults?: GlobalOptions;
  /** Set while running inside `polar shell` (which then omits serve and shell). */
  inShell?: boolean;
  /**
   * Raw standard error for progress bars, which redraw one line with `\r` and so cannot go through
   * err(). Without it (or when it is not a terminal) progress is printed as plain lines.
   */
  stderr?: { isTTY: boolean; columns?: number | undefined; write(raw: string): void };
  /**
   * Raw standard output, for text that arrives piece by piece (a streamed chat reply). Without it
   * such text is printed whole through out() once complete.
   */
  stdout?: { isTTY: boolean; write(raw: string): void };
  /**
   * Opens standard input as a line editor for commands that talk back and forth (`polar chat`).
   * Without it they read lines through the prompter.
   */
  terminal?: () => Terminal;
  /** Runs handler on Ctrl-C (SIGINT) until the returned function is called. */
  onInterrupt?: (handler: () => void) => () => void;
  /** Waits between polls; tests pass one that does not wait. */
  sleep?: (ms: number) => Promise<void>;
}

export function globalsOf(ctx: CliContext, cmd: Command): GlobalOptions {
  const given = Object.entries(cmd.optsWithGlobals() as GlobalOptions).filter(([, v]) => v !== undefined);
  return { ...ctx.defaults, ...Object.fromEntries(given) };
}

export interface Target {
  baseUrl: string;
  token: string | undefined;
  saved: Credentials | null;
}

/**
 * Where to send requests and with which token: flags, then environment, then the saved login.
 * A saved token is only ever sent to the URL it was issued by, so `--url` to another node cannot
 * leak it.
 */
export async function resolveTarget(ctx: CliContext, g: GlobalOptions): Promise<Target> {
  const saved = await readCredentials(ctx.config.configDir);
  const baseUrl = normalizeBaseUrl(g.url ?? ctx.config.url ?? saved?.url ?? DEFAULT_URL);
  const savedToken = saved && normalizeBaseUrl(saved.url) === baseUrl ? saved.token : undefined;
  return { baseUrl, token: g.token ?? ctx.config.token ?? savedToken, saved };
}

export async function clientOf(ctx: CliContext, cmd: Command): Promise<ApiClient> {
  const target = await resolveTarget(ctx, globalsOf(ctx, cmd));
  return new ApiClient({ baseUrl: target.baseUrl, token: target.token, fetch: ctx.fetch });
}

/** Prints an answer: the API's JSON as-is with --json, otherwise the readable `human(answer)`. */
export function print<T>(ctx: CliContext, cmd: Command, answer: T, human: (answer: T) => string) {
  ctx.out(globalsOf(ctx, cmd).json ? json(answer) : human(answer));
}

/** A page answer's hint for the next page (human output only). */
export function nextPageHint(ctx: CliContext, cmd: Command, nextCursor: string | null | undefined) {
  if (nextCursor && !globalsOf(ctx, cmd).json) ctx.err(`More results: add --cursor ${nextCursor}`);
}
