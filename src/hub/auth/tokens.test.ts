import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  csrfMatches,
  csrfTokenFor,
  issueToken,
  KEY_PREFIX,
  parseToken,
  SESSION_PREFIX,
  secretMatches,
} from './tokens.js';

describe('tokens', () => {
  it('an issued token parses back to its id and its secret matches the stored hash', () => {
    for (const prefix of [KEY_PREFIX, SESSION_PREFIX]) {
      const t = issueToken(prefix);
      const p = parseToken(t.token);
      expect(p).toMatchObject({ prefix, id: t.id });
      expect(secretMatches(p!.secret, t.secretHash)).toBe(true);
      expect(secretMatches(`${p!.secret.slice(0, -1)}x`, t.secretHash)).toBe(p!.secret.endsWith('x'));
    }
  });

  it('issues distinct tokens', () => {
    const seen = new Set(Array.from({ length: 1000 }, () => issueToken(KEY_PREFIX).token));
    expect(seen.size).toBe(1000);
  });

  it('never accepts arbitrary strings (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        const p = parseToken(s);
        if (p === null) return true;
        // Anything accepted must have exactly the issued shape.
        return /^(pk|ps)_[A-Za-z0-9]{12}_[A-Za-z0-9_-]{43}$/.test(s);
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses over-long input before any work', () => {
    expect(parseToken(`pk_${'a'.repeat(12)}_${'b'.repeat(5000)}`)).toBeNull();
  });

  it('a CSRF token is bound to its session and key', () => {
    const key = Buffer.alloc(32, 7);
    const other = Buffer.alloc(32, 8);
    const tok = csrfTokenFor('session1', key);
    expect(csrfMatches('session1', tok, key)).toBe(true);
    expect(csrfMatches('session2', tok, key)).toBe(false);
    expect(csrfMatches('session1', tok, other)).toBe(false);
    expect(csrfMatches('session1', '', key)).toBe(false);
  });
});
