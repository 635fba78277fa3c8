/**
 * How a job's spec and metrics become a run's params and metrics: flat, dotted keys that filters,
 * ordering and comparisons address directly (`params.steps.3.config.learning_rate`).
 */

/** Spec fields that say how a job is run, not what it trains: never params. */
const NOT_PARAMS = new Set([
  'name',
  'description',
  'priority',
  'resources',
  'register_as',
  'register',
  'experiment',
]);

/** Kept as whole values: a search space is one thing to compare, not dozens of keys. */
const WHOLE = new Set(['search.space']);

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function walk(value: unknown, prefix: string, out: Record<string, unknown>) {
  if (isPlainObject(value) && !WHOLE.has(prefix)) {
    const keys = Object.keys(value);
    // An empty config still says "defaults": keep it visible instead of dropping the key.
    if (keys.length === 0 && prefix) out[prefix] = {};
    for (const k of keys) walk(value[k], prefix ? `${prefix}.${k}` : k, out);
    return;
  }
  if (value !== undefined) out[prefix] = value;
}

/**
 * Params of a training spec: nested objects become dotted keys, steps are indexed by position
 * (`steps.1.type`, `steps.1.config.C`), other lists (feature names) stay whole values.
 */
export function flattenParams(spec: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(spec)) {
    if (NOT_PARAMS.has(k)) continue;
    if (k === 'steps' && Array.isArray(v)) {
      v.forEach((step, i) => {
        walk(step, `steps.${i}`, out);
      });
      continue;
    }
    walk(v, k, out);
  }
  return out;
}

/**
 * Final metrics as numbers only (MLflow's metrics are numbers too): finite numbers are kept, nested
 * objects flatten to dotted keys, lists (a confusion matrix), strings and nulls are left out.
 */
export function numericMetrics(metrics: Record<string, unknown>): Record<string, number> {
  const out: Record<string, number> = {};
  const visit = (v: unknown, key: string) => {
    if (typeof v === 'number' && Number.isFinite(v)) out[key] = v;
    else if (isPlainObject(v)) for (const [k, x] of Object.entries(v)) visit(x, `${key}.${k}`);
  };
  for (const [k, v] of Object.entries(metrics)) visit(v, k);
  return out;
}
