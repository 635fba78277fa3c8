import { UsageError } from '../errors.js';
import { splitWords } from '../shell/words.js';

/**
 * The generation settings `polar chat` sends with each request, checked here first so a typo gets a
 * clear message at once. Ranges are Polar's (seed 003's) so a value accepted here is one the node
 * accepts; the node still has the last word, and its refusals are shown as it words them.
 */
type Check = (value: unknown) => string | null;

const number =
  (min: number, max: number, integer = false): Check =>
  (v) =>
    typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max && (!integer || Number.isInteger(v))
      ? null
      : `must be ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}`;

/** OpenAI takes at most 4 stop sequences; Polar bounds each one. */
const MAX_STOP = 4;
const MAX_STOP_LENGTH = 100;

export const CHAT_PARAMETERS: Record<string, { check: Check; help: string }> = {
  temperature: { check: number(0, 2), help: 'randomness, 0-2 (0: always the likeliest token)' },
  top_p: { check: number(0, 1), help: 'nucleus sampling mass, 0-1' },
  top_k: { check: number(1, 100, true), help: 'sample among the k likeliest tokens, 1-100' },
  max_tokens: { check: number(1, 2048, true), help: 'longest reply in tokens, 1-2048' },
  seed: { check: number(0, 2 ** 32 - 1, true), help: 'fixed seed for repeatable sampling' },
  repetition_penalty: { check: number(0, 2), help: 'penalty on repeated tokens, 0-2 (1: none)' },
  stop: {
    check: (v) =>
      Array.isArray(v) &&
      v.length >= 1 &&
      v.length <= MAX_STOP &&
      v.every((s) => typeof s === 'string' && s.length >= 1 && s.length <= MAX_STOP_LENGTH)
        ? null
        : `must be 1 to ${MAX_STOP} strings of 1 to ${MAX_STOP_LENGTH} characters`,
    help: `up to ${MAX_STOP} strings that end the reply, e.g. /set stop "###" "\\n\\n"`,
  },
};

export type ChatParameters = Record<string, unknown>;

/**
 * A typed value: JSON when it parses (`0.7`, `"\n"`, `["a","b"]`), else the words of the line,
 * quoted as in a shell. `stop` always becomes a list.
 */
export function parseParameterValue(name: string, raw: string): unknown {
  const text = raw.trim();
  if (text === '') throw new UsageError(`Give a value: /set ${name} <value>`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    const words = splitWords(text);
    value = name === 'stop' ? words : words.length === 1 ? words[0] : text;
  }
  if (name === 'stop' && typeof value === 'string') value = [value];
  return value;
}

/** Checks one setting; throws a UsageError that names it and its range. */
export function checkParameter(name: string, value: unknown): unknown {
  const spec = CHAT_PARAMETERS[name];
  if (!spec) {
    throw new UsageError(`Unknown parameter '${name}'. Known: ${Object.keys(CHAT_PARAMETERS).join(', ')}`);
  }
  const problem = spec.check(value);
  if (problem) throw new UsageError(`${name} ${problem} (got ${JSON.stringify(value)})`);
  return value;
}

/** `--set name=value` options of the one-shot form. */
export function parseSetOptions(pairs: readonly string[]): ChatParameters {
  const out: ChatParameters = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`Expected name=value, got '${pair}'`);
    const name = pair.slice(0, eq).trim();
    out[name] = checkParameter(name, parseParameterValue(name, pair.slice(eq + 1)));
  }
  return out;
}

/** `temperature=0.7 stop=["###"]`, or `-` when nothing is set. */
export function formatParameters(params: Record<string, unknown>): string {
  const entries = Object.entries(params).filter(([, v]) => v !== undefined && v !== null);
  return entries.length ? entries.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ') : '-';
}
