import type { CliContext } from './context.js';
import { bytes } from './output.js';

export interface ProgressState {
  /** What is moving: a file, a repository. */
  label: string;
  done: number;
  /** Unknown (0 or null) until the other side has told us. */
  total: number | null;
  /** Bytes per second; null when not measured yet. */
  speedBps?: number | null;
  etaSeconds?: number | null;
}

/** `1h02m`, `3m07s`, `42s`: short enough for a one-line bar. */
export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '--';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** The bar is this wide when the terminal is; it shrinks (down to nothing) so the line never wraps. */
const BAR_WIDTH = 24;

/**
 * One progress line: `label [#####-----]  42%  1.2 GB/2.9 GB  35.0 MB/s  ETA 48s`, at most `columns`
 * characters so a redraw with `\r` overwrites it exactly.
 */
export function renderProgress(p: ProgressState, columns = 80): string {
  const fraction = p.total ? Math.min(1, Math.max(0, p.done / p.total)) : null;
  const percent = fraction === null ? '  ?%' : `${String(Math.floor(fraction * 100)).padStart(3)}%`;
  const amount = p.total ? `${bytes(p.done)}/${bytes(p.total)}` : bytes(p.done);
  const speed = p.speedBps ? `${bytes(p.speedBps)}/s` : '';
  const eta = fraction === 1 ? '' : `ETA ${duration(p.etaSeconds)}`;
  const tail = [percent, amount, speed, eta].filter(Boolean).join('  ');
  const room = columns - 1 - tail.length - 2;
  const barWidth = Math.min(BAR_WIDTH, room - Math.min(p.label.length, 30) - 3);
  let bar = '';
  if (barWidth >= 5) {
    const filled = Math.round((fraction ?? 0) * barWidth);
    bar = `[${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}]`;
  }
  const labelRoom = Math.max(0, room - (bar ? bar.length + 1 : 0));
  const label = p.label.length > labelRoom ? `…${p.label.slice(p.label.length - labelRoom + 1)}` : p.label;
  const head = [label, bar].filter(Boolean).join(' ');
  return (head ? `${head}  ${tail}` : tail).slice(0, columns - 1);
}

/** Plain lines (logs, pipes) are printed at most this often; a bar redraws at most every 100 ms. */
const PLAIN_EVERY_MS = 5_000;
const TTY_EVERY_MS = 100;

/**
 * Shows progress on standard error: a bar redrawn in place on a terminal, an occasional plain line
 * otherwise, nothing with --json (scripts read stdout, and stderr stays for errors).
 */
export class ProgressReporter {
  private last = Number.NEGATIVE_INFINITY;
  private drawn = false;
  private readonly tty: boolean;

  constructor(
    private readonly ctx: CliContext,
    private readonly opts: { quiet?: boolean; now?: () => number } = {},
  ) {
    this.tty = ctx.stderr?.isTTY === true;
  }

  update(p: ProgressState, force = false) {
    if (this.opts.quiet) return;
    const now = (this.opts.now ?? Date.now)();
    if (!force && now - this.last < (this.tty ? TTY_EVERY_MS : PLAIN_EVERY_MS)) return;
    this.last = now;
    if (this.tty && this.ctx.stderr) {
      // \x1b[K clears what a longer previous line left behind.
      this.ctx.stderr.write(`\r${renderProgress(p, this.ctx.stderr.columns ?? 80)}\x1b[K`);
      this.drawn = true;
    } else {
      this.ctx.err(renderProgress(p, 200));
    }
  }

  /** Ends the bar's line so later output starts on a fresh one. */
  finish() {
    if (this.drawn) this.ctx.stderr?.write('\n');
    this.drawn = false;
  }
}

/** Measures speed over the whole transfer so far; enough for a bar, and it never jumps to zero. */
export function meter(now: () => number = Date.now) {
  const start = now();
  return (done: number, total: number | null) => {
    const seconds = (now() - start) / 1000;
    const speedBps = seconds > 0.2 ? done / seconds : null;
    const etaSeconds = speedBps && total ? (total - done) / speedBps : null;
    return { speedBps, etaSeconds };
  };
}
