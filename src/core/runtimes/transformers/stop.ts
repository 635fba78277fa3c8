/**
 * Stop strings over streamed text. Generation ends before the first stop string, which is never part
 * of the output; text that might be the start of a stop string is held back until the next piece
 * shows whether it is.
 */
export class StopFilter {
  private held = '';
  private readonly stops: string[];
  /** A stop string was seen; nothing more is emitted. */
  stopped = false;

  constructor(stops: readonly string[] = []) {
    this.stops = stops.filter((s) => s.length > 0);
  }

  /** Takes the next piece of generated text and returns what may be emitted now. */
  push(text: string): string {
    if (this.stopped) return '';
    const buf = this.held + text;
    const cut = firstStop(buf, this.stops);
    if (cut >= 0) {
      this.stopped = true;
      this.held = '';
      return buf.slice(0, cut);
    }
    const hold = longestPartialStop(buf, this.stops);
    this.held = buf.slice(buf.length - hold);
    return buf.slice(0, buf.length - hold);
  }

  /** At the end of generation, the held text was not a stop string after all. */
  flush(): string {
    const rest = this.stopped ? '' : this.held;
    this.held = '';
    return rest;
  }
}

/** Index of the earliest occurrence of any stop string, or -1. */
export function firstStop(text: string, stops: readonly string[]): number {
  let cut = -1;
  for (const s of stops) {
    if (s.length === 0) continue;
    const i = text.indexOf(s);
    if (i >= 0 && (cut < 0 || i < cut)) cut = i;
  }
  return cut;
}

/** Length of the longest suffix of `text` that is a proper prefix of some stop string. */
function longestPartialStop(text: string, stops: readonly string[]): number {
  let best = 0;
  for (const s of stops) {
    for (let len = Math.min(s.length - 1, text.length); len > best; len--) {
      if (text.endsWith(s.slice(0, len))) {
        best = len;
        break;
      }
    }
  }
  return best;
}

/**
 * How many trailing tokens to decode when checking for a stop string after each new token: the
 * string must end in the newest token (it would have been seen earlier otherwise), and one character
 * spans at most 4 byte-level tokens; the margin covers a partial character at the window's start.
 */
export function stopWindowTokens(stops: readonly string[]): number {
  const longest = Math.max(0, ...stops.map((s) => s.length));
  return 4 * longest + 8;
}
