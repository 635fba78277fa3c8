import { InvalidArgumentError } from 'commander';
import { UsageError } from './errors.js';

/**
 * A value typed on the command line: JSON when it parses (numbers, booleans, null, arrays,
 * objects, quoted strings), otherwise the text itself. So `port=8080` sends a number and
 * `name=llama` a string; `name='"8080"'` forces a string.
 */
export function parseValue(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

const KEY_RE = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/**
 * `key=value` pairs into one object. A dotted key (`limits.max=3`) builds a nested object, which
 * the server merges like any other partial update.
 */
export function parseAssignments(pairs: readonly string[]): Record<string, unknown> {
  if (pairs.length === 0) throw new UsageError('Give at least one key=value');
  const out: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`Expected key=value, got '${pair}'`);
    const path = pair.slice(0, eq).split('.');
    if (!path.every((k) => KEY_RE.test(k))) {
      throw new UsageError(`Not a valid setting name: '${pair.slice(0, eq)}'`);
    }
    let node = out;
    for (const key of path.slice(0, -1)) {
      const next = node[key];
      if (next !== undefined && (typeof next !== 'object' || next === null || Array.isArray(next))) {
        throw new UsageError(`'${key}' is given both as a value and as a group`);
      }
      node[key] = next ?? {};
      node = node[key] as Record<string, unknown>;
    }
    const leaf = path[path.length - 1]!;
    if (leaf in node) throw new UsageError(`'${pair.slice(0, eq)}' is given twice`);
    node[leaf] = parseValue(pair.slice(eq + 1));
  }
  return out;
}

export interface SectionPath {
  scope?: string;
  section?: string;
}

const NAME_RE = /^[a-z][a-z0-9_-]{0,63}$/;

/** `scope`, `scope/section` or nothing (every section); names as the server accepts them. */
export function parseSectionPath(raw: string | undefined): SectionPath {
  if (raw === undefined || raw === '' || raw === '/') return {};
  const parts = raw.replace(/^\/+|\/+$/g, '').split('/');
  if (parts.length > 2 || !parts.every((p) => NAME_RE.test(p))) {
    throw new UsageError(`Expected scope or scope/section (lower-case names), got '${raw}'`);
  }
  const [scope, section] = parts;
  return section === undefined ? { scope } : { scope, section };
}

/** Like parseSectionPath, but both parts are required. */
export function parseFullSectionPath(raw: string): Required<SectionPath> {
  const p = parseSectionPath(raw);
  if (!p.scope || !p.section) throw new UsageError(`Expected scope/section, got '${raw}'`);
  return { scope: p.scope, section: p.section };
}

/** Commander argument parser for whole numbers in a range. */
export function intOption(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (raw: string): number => {
    if (!/^-?\d+$/.test(raw.trim())) throw new InvalidArgumentError('Not a whole number.');
    const n = Number(raw);
    if (n < min || n > max) throw new InvalidArgumentError(`Must be between ${min} and ${max}.`);
    return n;
  };
}

/** Commander parser for `a,b,c` (repeatable: values accumulate). */
export function listOption(raw: string, previous: string[] = []): string[] {
  const items = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (items.length === 0) throw new InvalidArgumentError('Give at least one value.');
  return [...previous, ...items];
}
