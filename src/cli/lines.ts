import { createInterface, type Interface } from 'node:readline';
import { UsageError } from './errors.js';

/** How commands ask for input (passwords, confirmations), in a one-shot process or in the shell. */
export interface Prompter {
  /** A person can answer (a terminal); otherwise answers are read as lines from standard input. */
  readonly interactive: boolean;
  /** One line; hidden input is neither echoed nor kept in history. */
  ask(question: string, opts?: { hidden?: boolean }): Promise<string>;
}

/** readline's output hook: the documented way to mute echo without a second interface on stdin. */
interface WritableInterface {
  _writeToOutput(s: string): void;
  output?: NodeJS.WritableStream;
}

/**
 * Lines from a readline interface, one at a time, in order: lines that arrive while a command runs
 * (a script piped into `polar shell`) wait in a queue instead of being lost.
 */
export class LineSource {
  private readonly queue: string[] = [];
  private waiting: ((line: string | null) => void) | null = null;
  private closed = false;
  private muted = false;

  constructor(readonly rl: Interface) {
    const w = rl as unknown as WritableInterface;
    const write = w._writeToOutput.bind(rl);
    w._writeToOutput = (s: string) => {
      if (!this.muted) write(s);
    };
    // readline lets a 'history' listener drop the entry just added: a password must not be kept.
    rl.on('history', (history: string[]) => {
      if (this.muted) history.shift();
    });
    rl.on('line', (line) => {
      if (this.muted) {
        this.muted = false;
        w.output?.write('\n');
      }
      if (this.waiting) {
        const resolve = this.waiting;
        this.waiting = null;
        resolve(line);
      } else {
        this.queue.push(line);
      }
    });
    rl.on('close', () => {
      this.closed = true;
      this.muted = false;
      this.waiting?.(null);
      this.waiting = null;
    });
  }

  get terminal(): boolean {
    return (this.rl as unknown as { terminal: boolean }).terminal;
  }

  /** The next line, or null once input has ended; the prompt is shown only on a terminal. */
  next(prompt = '', opts: { hidden?: boolean } = {}): Promise<string | null> {
    const queued = this.queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.closed) return Promise.resolve(null);
    if (this.terminal) {
      this.rl.setPrompt(prompt);
      this.rl.prompt();
      this.muted = opts.hidden === true;
    }
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  close() {
    this.rl.close();
  }

  prompter(): Prompter {
    return {
      interactive: this.terminal,
      ask: async (question, opts = {}) => {
        const line = await this.next(question, opts);
        if (line === null) throw new UsageError(`No input for: ${question.replace(/:\s*$/, '')}`);
        return line;
      },
    };
  }
}

/**
 * The prompter of a one-shot command: opens standard input only when a command asks, so commands
 * that never prompt do not hold the process open or swallow piped input.
 */
export function stdinPrompter(
  stdin: NodeJS.ReadStream = process.stdin,
  stderr: NodeJS.WriteStream = process.stderr,
): Prompter & { close(): void } {
  let source: LineSource | null = null;
  const open = () => {
    source ??= new LineSource(
      createInterface({ input: stdin, output: stderr, terminal: stdin.isTTY === true, historySize: 0 }),
    );
    return source;
  };
  return {
    interactive: stdin.isTTY === true,
    ask: (question, opts) => open().prompter().ask(question, opts),
    close: () => source?.close(),
  };
}

/**
 * A line editor for commands that talk back and forth and print while a person may press keys
 * (`polar chat`): a prompt with history, and Ctrl-C that stops the work in progress, not the process.
 */
export interface Terminal {
  /** A person types (a TTY); otherwise lines come from a pipe and no prompt is shown. */
  readonly interactive: boolean;
  /** The next line, or null once input has ended (Ctrl-D, or the end of the pipe). */
  read(prompt: string): Promise<string | null>;
  /**
   * Marks the terminal busy until the returned function is called: keys typed meanwhile are not
   * echoed (they wait for the next prompt), and Ctrl-C calls onInterrupt.
   */
  busy(onInterrupt: () => void): () => void;
  close(): void;
}

/** How many lines a chat session recalls with the arrow keys; not saved anywhere. */
const TERMINAL_HISTORY = 200;

/**
 * A Terminal on standard input. On a TTY readline keeps the terminal in raw mode, so Ctrl-C
 * arrives here as a key rather than as a SIGINT to the process: while idle it abandons the line
 * being typed, as in a shell; while busy it goes to the busy handler.
 */
export function stdinTerminal(
  stdin: NodeJS.ReadStream = process.stdin,
  output: NodeJS.WriteStream = process.stdout,
): Terminal {
  const interactive = stdin.isTTY === true;
  const rl = createInterface({
    input: stdin,
    output,
    terminal: interactive,
    historySize: interactive ? TERMINAL_HISTORY : 0,
  });
  const source = new LineSource(rl);
  let onInterrupt: (() => void) | null = null;
  const w = rl as unknown as WritableInterface;
  const write = w._writeToOutput.bind(rl);
  w._writeToOutput = (s: string) => {
    if (!onInterrupt) write(s);
  };
  rl.on('SIGINT', () => {
    if (onInterrupt) return onInterrupt();
    rl.write(null, { ctrl: true, name: 'e' });
    rl.write(null, { ctrl: true, name: 'u' });
    output.write('^C\n');
    rl.prompt();
  });
  return {
    interactive,
    read: (prompt) => source.next(prompt),
    busy(handler) {
      onInterrupt = handler;
      return () => {
        if (onInterrupt === handler) onInterrupt = null;
      };
    },
    close: () => source.close(),
  };
}
