import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decrypt, deriveKey, encrypt, loadMasterKey, parseSecretKey } from './keys.js';

describe('secret box', () => {
  const key = deriveKey(Buffer.alloc(32, 1), 'settings');

  it('round-trips any text (property)', () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.string({ maxLength: 40 }),
        (text, aad) => decrypt(key, encrypt(key, text, aad), aad) === text,
      ),
      { numRuns: 300 },
    );
  });

  it('fails on a wrong key, a wrong AAD or a tampered ciphertext', () => {
    const sealed = encrypt(key, 'sk-secret', 'gateway/providers/api_key');
    expect(sealed).not.toContain('sk-secret');
    expect(() =>
      decrypt(deriveKey(Buffer.alloc(32, 2), 'settings'), sealed, 'gateway/providers/api_key'),
    ).toThrow();
    expect(() => decrypt(key, sealed, 'other/place')).toThrow();
    const parts = sealed.split('.');
    parts[3] = Buffer.from('tampered').toString('base64url');
    expect(() => decrypt(key, parts.join('.'), 'gateway/providers/api_key')).toThrow();
    expect(() => decrypt(key, 'garbage', '')).toThrow();
  });

  it('derives different keys per purpose', () => {
    const master = Buffer.alloc(32, 3);
    expect(deriveKey(master, 'csrf').equals(deriveKey(master, 'settings'))).toBe(false);
  });
});

describe('master key', () => {
  it('is generated once into the data dir with 0600 permissions, then reused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'polar-key-'));
    const a = loadMasterKey({ secretKey: undefined, dataDir: dir });
    const b = loadMasterKey({ secretKey: undefined, dataDir: dir });
    expect(a.equals(b)).toBe(true);
    expect(a).toHaveLength(32);
    const file = join(dir, 'secret.key');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8').trim()).toBe(a.toString('hex'));
  });

  it('accepts POLAR_SECRET_KEY as hex or base64 and refuses other lengths', () => {
    const raw = Buffer.alloc(32, 9);
    expect(parseSecretKey(raw.toString('hex')).equals(raw)).toBe(true);
    expect(parseSecretKey(raw.toString('base64')).equals(raw)).toBe(true);
    expect(() => parseSecretKey('too-short')).toThrow(/32 bytes/);
  });
});
