import type { z } from 'zod';
import { decrypt, encrypt } from '../../platform/crypto/keys.js';
import { type FieldError, ValidationError } from '../../platform/errors.js';
import type { SectionDef } from './registry.js';

/**
 * Pure rules for section values: layering, masking, merging an update, diffing for history, and
 * sealing secrets for storage. `stored` is what an admin set (plaintext in memory); effective values
 * are defaults < base (test overrides) < stored, validated by the section schema.
 */
export type Values = Record<string, unknown>;

export const MASK_PREFIX = '••••';

/**
 * What clients see instead of a secret: the prefix plus at most the last 4 characters, fewer for
 * short secrets so a mask never gives away most of the value. null when unset.
 */
export function maskSecret(value: unknown): string | null {
  if (typeof value !== 'string' || value === '') return null;
  const shown = Math.min(4, Math.floor(value.length / 4));
  return MASK_PREFIX + (shown > 0 ? value.slice(-shown) : '');
}

export function maskValues(values: Values, secrets: ReadonlySet<string>): Values {
  const out: Values = { ...values };
  for (const f of secrets) out[f] = maskSecret(out[f]);
  return out;
}

/** History never holds any part of a secret, only whether it was set. */
export const SECRET_SET = '(secret)';
export const SECRET_CHANGED = '(secret changed)';

export function unknownFields(def: SectionDef, patch: Values): string[] {
  const known = def.schema.shape;
  return Object.keys(patch).filter((k) => !Object.hasOwn(known, k));
}

/**
 * Merges a partial update over the stored values: `null` returns a field to its default (or unsets a
 * secret); a secret sent back exactly as its current mask keeps the stored secret, so a client can
 * PUT back what it read.
 */
export function applyPatch(
  stored: Values,
  patch: Values,
  secrets: ReadonlySet<string>,
  current: Values,
): Values {
  const next: Values = { ...stored };
  const errors: FieldError[] = [];
  for (const [field, value] of Object.entries(patch)) {
    if (value === null) {
      delete next[field];
      continue;
    }
    if (secrets.has(field) && typeof value === 'string' && value.startsWith(MASK_PREFIX)) {
      if (value === maskSecret(current[field])) continue;
      errors.push({ path: `body.${field}`, message: 'is a mask, not a secret; send the new secret' });
      continue;
    }
    next[field] = value;
  }
  if (errors.length > 0) throw new ValidationError('A secret field holds a mask', errors, 'secret_is_mask');
  return next;
}

/** Validates the layered values; a failure names each field at fault. */
export function validate<S extends z.ZodObject>(def: SectionDef<S>, base: Values, stored: Values): Values {
  const r = def.schema.safeParse({ ...base, ...stored });
  if (r.success) return r.data as Values;
  const errors = r.error.issues.map((i) => ({
    path: ['body', ...i.path.map(String)].join('.'),
    message: i.message,
  }));
  const fields = [...new Set(r.error.issues.map((i) => String(i.path[0] ?? '')))].filter(Boolean);
  throw new ValidationError(
    `Invalid value for ${def.scope}/${def.section}: ${fields.join(', ') || 'section'}`,
    errors,
  );
}

/**
 * Effective values from what was stored, tolerating rows written under an older schema: unknown or
 * now-invalid fields are dropped (and reported) so one stale value cannot stop the node from starting.
 */
export function resolveStored(
  def: SectionDef,
  base: Values,
  stored: Values,
): { values: Values; stored: Values; dropped: string[] } {
  const known = def.schema.shape;
  const dropped = Object.keys(stored).filter((k) => !Object.hasOwn(known, k));
  let kept: Values = Object.fromEntries(Object.entries(stored).filter(([k]) => Object.hasOwn(known, k)));
  let r = def.schema.safeParse({ ...base, ...kept });
  if (!r.success) {
    const bad = new Set(r.error.issues.map((i) => String(i.path[0] ?? '')));
    dropped.push(...Object.keys(kept).filter((k) => bad.has(k)));
    kept = Object.fromEntries(Object.entries(kept).filter(([k]) => !bad.has(k)));
    r = def.schema.safeParse({ ...base, ...kept });
  }
  // The base is validated at start (registration guarantees defaults parse), so this last parse is
  // the defaults and overrides alone.
  if (!r.success)
    return { values: def.schema.parse(base) as Values, stored: {}, dropped: Object.keys(stored) };
  return { values: r.data as Values, stored: kept, dropped };
}

/** Stable JSON, so two equal objects compare equal whatever their key order. */
export function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Values)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${stableJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v ?? null);
}

export type Changes = Record<string, { from: unknown; to: unknown }>;

/** Fields whose effective value changed, with secrets replaced by markers. */
export function diffValues(before: Values, after: Values, secrets: ReadonlySet<string>): Changes {
  const changes: Changes = {};
  for (const f of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const a = before[f];
    const b = after[f];
    if (stableJson(a) === stableJson(b)) continue;
    changes[f] = secrets.has(f)
      ? {
          from: maskSecret(a) === null ? null : SECRET_SET,
          to: maskSecret(b) === null ? null : SECRET_CHANGED,
        }
      : { from: a ?? null, to: b ?? null };
  }
  return changes;
}

/** The additional data that binds a ciphertext to its field: moving it elsewhere fails to decrypt. */
const aad = (def: SectionDef, field: string) => `${def.scope}/${def.section}/${field}`;

export interface Sealed {
  $enc: string;
}

const isSealed = (v: unknown): v is Sealed =>
  !!v && typeof v === 'object' && typeof (v as Sealed).$enc === 'string';

export function sealSecrets(
  def: SectionDef,
  key: Buffer,
  stored: Values,
  secrets: ReadonlySet<string>,
): Values {
  const out: Values = { ...stored };
  for (const f of secrets) {
    const v = out[f];
    if (typeof v === 'string') out[f] = { $enc: encrypt(key, v, aad(def, f)) } satisfies Sealed;
  }
  return out;
}

/** Decrypts stored secrets; a field that cannot be decrypted (other key, tampered row) is left out. */
export function openSecrets(
  def: SectionDef,
  key: Buffer,
  raw: Values,
  secrets: ReadonlySet<string>,
): { values: Values; unreadable: string[] } {
  const values: Values = { ...raw };
  const unreadable: string[] = [];
  for (const [f, v] of Object.entries(raw)) {
    if (!isSealed(v)) {
      // A secret must never be read from a plaintext column value.
      if (secrets.has(f) && v !== undefined) {
        delete values[f];
        unreadable.push(f);
      }
      continue;
    }
    try {
      values[f] = decrypt(key, v.$enc, aad(def, f));
    } catch {
      delete values[f];
      unreadable.push(f);
    }
  }
  return { values, unreadable };
}
