import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Tokens look like `<prefix>_<id>_<secret>`: the id finds the row, the secret is compared in constant
 * time against its stored sha256. Secrets are 32 random bytes, so a fast hash is the right tool
 * (argon2 is for low-entropy passwords).
 */
export const KEY_PREFIX = 'pk';
export const SESSION_PREFIX = 'ps';
const ID_RE = /^[A-Za-z0-9]{12}$/;
const SECRET_RE = /^[A-Za-z0-9_-]{43}$/;
/** Longer than any valid token: refused before any lookup. */
export const MAX_TOKEN_LENGTH = 80;

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A 12-character random id (alphanumeric, ~71 bits). Also used for users and other rows. */
export function newId(): string {
  const bytes = randomBytes(12);
  let out = '';
  for (const b of bytes) out += ALNUM[b % 62];
  return out;
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function secretMatches(secret: string, storedHash: string): boolean {
  const a = Buffer.from(hashSecret(secret), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

export interface IssuedToken {
  id: string;
  token: string;
  secretHash: string;
}

export function issueToken(prefix: string): IssuedToken {
  const id = newId();
  const secret = randomBytes(32).toString('base64url');
  return { id, token: `${prefix}_${id}_${secret}`, secretHash: hashSecret(secret) };
}

export function parseToken(token: string): { prefix: string; id: string; secret: string } | null {
  if (token.length > MAX_TOKEN_LENGTH) return null;
  const first = token.indexOf('_');
  const second = token.indexOf('_', first + 1);
  if (first < 0 || second < 0) return null;
  const prefix = token.slice(0, first);
  const id = token.slice(first + 1, second);
  const secret = token.slice(second + 1);
  if (prefix !== KEY_PREFIX && prefix !== SESSION_PREFIX) return null;
  if (!ID_RE.test(id) || !SECRET_RE.test(secret)) return null;
  return { prefix, id, secret };
}

/** CSRF token bound to a session: stateless, and useless without the session cookie it belongs to. */
export function csrfTokenFor(sessionId: string, key: Buffer): string {
  return createHmac('sha256', key).update(`csrf:${sessionId}`).digest('base64url');
}

export function csrfMatches(sessionId: string, presented: string, key: Buffer): boolean {
  const expected = Buffer.from(csrfTokenFor(sessionId, key));
  const got = Buffer.from(presented);
  return expected.length === got.length && timingSafeEqual(expected, got);
}
