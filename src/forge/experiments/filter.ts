import { ValidationError } from '../../platform/errors.js';

/**
 * Run filters and ordering as MLflow spells them: `metrics.accuracy > 0.9`,
 * `params.steps.1.config.C = 0.5`, `tags.team = 'fraud'`, joined with `and`; `metrics.accuracy desc`.
 */
export const OPS = ['=', '!=', '>', '>=', '<', '<='] as const;
export type Op = (typeof OPS)[number];

export type Clause =
  | { field: 'metrics'; key: string; op: Op; value: number }
  | { field: 'params'; key: string; op: Op; value: string | number | boolean | null }
  | { field: 'tags'; key: string; op: '=' | '!='; value: string };

export const ORDER_COLUMNS = ['created_at', 'started_at', 'finished_at', 'name'] as const;
export type OrderColumn = (typeof ORDER_COLUMNS)[number];
export type OrderBy =
  | { field: 'metrics' | 'params'; key: string; desc: boolean }
  | { field: OrderColumn; desc: boolean };

const MAX_CLAUSES = 20;

const invalid = (path: string, message: string) =>
  new ValidationError(
    message,
    [{ path, message }],
    path === 'query.order_by' ? 'invalid_order_by' : 'invalid_filter',
  );

/** Splits on `and` outside quotes, so a quoted value may contain the word. */
function splitAnd(text: string): string[] {
  const parts: string[] = [];
  let quote: string | null = null;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = null;
      continue;
    }
    if (c === "'" || c === '"') quote = c;
    else if (/\s/.test(c ?? '') && /^\s+and\s/i.test(text.slice(i))) {
      parts.push(text.slice(start, i));
      const m = /^\s+and\s+/i.exec(text.slice(i));
      i += (m?.[0].length ?? 1) - 1;
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((p) => p.trim());
}

function parseValue(raw: string): string | number | boolean | null {
  const quoted = /^'(.*)'$|^"(.*)"$/s.exec(raw);
  if (quoted) return quoted[1] ?? quoted[2] ?? '';
  if (raw === 'true' || raw === 'false') return raw === 'true';
  if (raw === 'null') return null;
  if (/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(raw)) return Number(raw);
  return raw;
}

const CLAUSE = /^(metrics|params|tags)\.([^\s<>=!]+)\s*(!=|>=|<=|=|>|<)\s*(.+)$/s;

/** One filter string, possibly several clauses joined by `and`. */
export function parseFilter(text: string): Clause[] {
  const clauses: Clause[] = [];
  for (const part of splitAnd(text.trim())) {
    const m = CLAUSE.exec(part);
    if (!m)
      throw invalid(
        'query.filter',
        `'${part}' is not a filter: write metrics.<name> <op> <number>, params.<key> <op> <value> or tags.<key> = <value>`,
      );
    const [, field, key, op, rawValue] = m as unknown as [string, Clause['field'], string, Op, string];
    const value = parseValue(rawValue.trim());
    if (field === 'metrics') {
      if (typeof value !== 'number' || !Number.isFinite(value))
        throw invalid('query.filter', `'${part}': metrics compare with numbers`);
      clauses.push({ field, key, op, value });
    } else if (field === 'params') {
      if (op !== '=' && op !== '!=' && typeof value !== 'number')
        throw invalid('query.filter', `'${part}': ${op} compares numbers only`);
      clauses.push({ field, key, op, value });
    } else {
      if (op !== '=' && op !== '!=')
        throw invalid('query.filter', `'${part}': tags compare with = or != only`);
      clauses.push({ field, key, op, value: value === null ? 'null' : String(value) });
    }
  }
  if (clauses.length > MAX_CLAUSES) throw invalid('query.filter', `at most ${MAX_CLAUSES} clauses`);
  return clauses;
}

/** `metrics.accuracy desc`, `params.steps.1.config.C`, `started_at asc`; ascending unless told. */
export function parseOrderBy(text: string | undefined): OrderBy {
  if (text === undefined || text.trim() === '') return { field: 'created_at', desc: true };
  const m = /^(\S+?)(?:\s+(asc|desc))?$/i.exec(text.trim());
  const target = m?.[1] ?? '';
  const desc = m?.[2]?.toLowerCase() === 'desc';
  const keyed = /^(metrics|params)\.(\S+)$/.exec(target);
  if (m && keyed) return { field: keyed[1] as 'metrics' | 'params', key: keyed[2] as string, desc };
  if (m && (ORDER_COLUMNS as readonly string[]).includes(target))
    return { field: target as OrderColumn, desc };
  throw invalid(
    'query.order_by',
    `'${text}' is not an ordering: metrics.<name>, params.<key>, ${ORDER_COLUMNS.join(', ')}, then asc or desc`,
  );
}

/** Tag filters of `?tag=`: `key` (the run has it) or `key:value`. */
export function parseTag(text: string): { key: string; value?: string } {
  const i = text.indexOf(':');
  const key = (i < 0 ? text : text.slice(0, i)).trim();
  if (!key) throw invalid('query.tag', `'${text}' names no tag: write key or key:value`);
  return i < 0 ? { key } : { key, value: text.slice(i + 1) };
}
