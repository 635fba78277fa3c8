/**
 * Fitted params as plain JSON: typed arrays become number arrays and anything JSON would change
 * silently (NaN, Infinity, undefined in an array, class instances) is refused, naming where it is,
 * because serving must see exactly the params training applied.
 */
export function toPlainJson(value: unknown, path = 'params'): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`${path} is ${value}, which JSON cannot hold`);
    return value;
  }
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    return Array.from(value as unknown as ArrayLike<number | bigint>, (v, i) =>
      toPlainJson(typeof v === 'bigint' ? Number(v) : v, `${path}[${i}]`),
    );
  }
  if (Array.isArray(value)) return value.map((v, i) => toPlainJson(v, `${path}[${i}]`));
  const proto = typeof value === 'object' ? Object.getPrototypeOf(value) : undefined;
  if (proto === Object.prototype || proto === null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>))
      if (v !== undefined) out[k] = toPlainJson(v, `${path}.${k}`);
    return out;
  }
  throw new Error(`${path} is not plain JSON (${typeof value})`);
}
