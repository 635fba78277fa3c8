import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ValidationError } from '../../platform/errors.js';
import { describeSection, secretFieldsOf } from './describe.js';
import { createSettingsRegistry, defineSection, HUB_SECTIONS, secret } from './registry.js';
import {
  applyPatch,
  diffValues,
  MASK_PREFIX,
  maskSecret,
  maskValues,
  openSecrets,
  resolveStored,
  SECRET_CHANGED,
  SECRET_SET,
  sealSecrets,
  stableJson,
  unknownFields,
  validate,
} from './values.js';

const provider = defineSection({
  scope: 'gateway',
  section: 'provider',
  description: 'An upstream provider',
  schema: z.strictObject({
    url: z.string().url().default('https://api.example.test').describe('Base URL'),
    api_key: secret().optional().describe('Provider key'),
    timeout_ms: z.number().int().min(100).max(60_000).default(5_000),
    mode: z.enum(['fast', 'safe']).default('safe'),
    enabled: z.boolean().default(true),
  }),
});
const secrets = secretFieldsOf(provider);
const KEY = 'sk-live-0123456789abcdef';

describe('maskSecret', () => {
  it('shows at most the last 4 characters, fewer for short secrets, null when unset', () => {
    expect(maskSecret(KEY)).toBe(`${MASK_PREFIX}cdef`);
    expect(maskSecret('abcdefgh')).toBe(`${MASK_PREFIX}gh`);
    expect(maskSecret('abc')).toBe(MASK_PREFIX);
    expect(maskSecret('')).toBeNull();
    expect(maskSecret(undefined)).toBeNull();
  });

  it('never reveals more than a quarter of the secret, nor more than 4 characters', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 200 }), (s) => {
        const m = maskSecret(s)!;
        const shown = m.length - MASK_PREFIX.length;
        expect(m.startsWith(MASK_PREFIX)).toBe(true);
        expect(shown).toBeLessThanOrEqual(Math.min(4, s.length / 4));
        if (s.length >= 8) expect(m).not.toContain(s);
      }),
    );
  });

  it('masks only secret fields', () => {
    expect(maskValues({ url: 'u', api_key: KEY, mode: 'fast' }, secrets)).toEqual({
      url: 'u',
      api_key: `${MASK_PREFIX}cdef`,
      mode: 'fast',
    });
  });
});

describe('applyPatch', () => {
  const current = { url: 'https://api.example.test', api_key: KEY, timeout_ms: 5000 };

  it('merges fields over the stored ones', () => {
    expect(applyPatch({ api_key: KEY }, { timeout_ms: 900 }, secrets, current)).toEqual({
      api_key: KEY,
      timeout_ms: 900,
    });
  });

  it('null returns a field to its default and unsets a secret', () => {
    expect(
      applyPatch({ api_key: KEY, timeout_ms: 900 }, { timeout_ms: null, api_key: null }, secrets, current),
    ).toEqual({});
  });

  it('keeps the stored secret when the mask is sent back unchanged', () => {
    const next = applyPatch({ api_key: KEY }, { api_key: maskSecret(KEY), mode: 'fast' }, secrets, current);
    expect(next).toEqual({ api_key: KEY, mode: 'fast' });
  });

  it('refuses a mask that is not the current one instead of storing it as the secret', () => {
    const err = (() => {
      try {
        applyPatch({ api_key: KEY }, { api_key: `${MASK_PREFIX}zzzz` }, secrets, current);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ValidationError);
    expect(err).toMatchObject({ code: 'secret_is_mask', errors: [{ path: 'body.api_key' }] });
  });

  it('replaces a secret with a new one', () => {
    expect(applyPatch({ api_key: KEY }, { api_key: 'new-key-value-1234' }, secrets, current)).toEqual({
      api_key: 'new-key-value-1234',
    });
  });
});

describe('validate and unknown fields', () => {
  it('layers defaults < base < stored', () => {
    expect(validate(provider, { timeout_ms: 700, mode: 'fast' }, { timeout_ms: 800 })).toEqual({
      url: 'https://api.example.test',
      timeout_ms: 800,
      mode: 'fast',
      enabled: true,
    });
  });

  it('names every field at fault', () => {
    try {
      validate(provider, {}, { timeout_ms: 'fast', mode: 'turbo' });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ValidationError);
      const v = e as ValidationError;
      expect(v.code).toBe('validation_error');
      expect(v.errors?.map((x) => x.path).sort()).toEqual(['body.mode', 'body.timeout_ms']);
      expect(v.message).toContain('timeout_ms');
    }
  });

  it('lists fields the section does not declare', () => {
    expect(unknownFields(provider, { url: 'x', colour: 1, __proto__x: 2 })).toEqual(['colour', '__proto__x']);
    expect(unknownFields(provider, { toString: 1 })).toEqual(['toString']);
  });
});

describe('resolveStored', () => {
  it('drops fields a newer schema no longer knows or accepts, keeping the rest', () => {
    const r = resolveStored(provider, {}, { timeout_ms: 1, gone: true, mode: 'fast' });
    expect(r.values).toMatchObject({ timeout_ms: 5000, mode: 'fast' });
    expect(r.stored).toEqual({ mode: 'fast' });
    expect(r.dropped.sort()).toEqual(['gone', 'timeout_ms']);
  });
});

describe('diffValues', () => {
  it('lists changed fields from → to and shows secrets only as markers', () => {
    const before = { url: 'a', api_key: KEY, timeout_ms: 1 };
    const after = { url: 'b', api_key: 'another-secret-999', timeout_ms: 1 };
    const d = diffValues(before, after, secrets);
    expect(d).toEqual({ url: { from: 'a', to: 'b' }, api_key: { from: SECRET_SET, to: SECRET_CHANGED } });
    expect(JSON.stringify(d)).not.toContain('999');
    expect(diffValues({}, { api_key: KEY }, secrets).api_key).toEqual({ from: null, to: SECRET_CHANGED });
    expect(diffValues({ api_key: KEY }, {}, secrets).api_key).toEqual({ from: SECRET_SET, to: null });
  });

  it('compares objects whatever their key order', () => {
    expect(stableJson({ b: 1, a: [{ y: 2, x: 1 }] })).toBe(stableJson({ a: [{ x: 1, y: 2 }], b: 1 }));
    expect(diffValues({ m: { a: 1, b: 2 } }, { m: { b: 2, a: 1 } }, new Set())).toEqual({});
  });
});

describe('sealing secrets', () => {
  const key = randomBytes(32);

  it('round-trips, and the sealed form holds no plaintext', () => {
    const sealed = sealSecrets(provider, key, { api_key: KEY, mode: 'fast' }, secrets);
    expect(JSON.stringify(sealed)).not.toContain(KEY);
    expect(sealed.mode).toBe('fast');
    expect(sealed.api_key).toMatchObject({ $enc: expect.stringMatching(/^v1\./) });
    expect(openSecrets(provider, key, sealed, secrets)).toEqual({
      values: { api_key: KEY, mode: 'fast' },
      unreadable: [],
    });
  });

  it('a ciphertext moved to another field or section, or opened with another key, is unreadable', () => {
    const sealed = sealSecrets(provider, key, { api_key: KEY }, secrets);
    const other = defineSection({ ...provider, section: 'other' });
    expect(openSecrets(other, key, sealed, secrets).unreadable).toEqual(['api_key']);
    expect(openSecrets(provider, randomBytes(32), sealed, secrets).unreadable).toEqual(['api_key']);
    expect(openSecrets(provider, key, { api_key: KEY }, secrets)).toEqual({
      values: {},
      unreadable: ['api_key'],
    });
  });
});

describe('describeSection', () => {
  it('derives type, default, bounds, enum and the secret flag from the schema', () => {
    const fields = Object.fromEntries(describeSection(provider).fields.map((f) => [f.name, f]));
    expect(fields.timeout_ms).toMatchObject({
      type: 'integer',
      default: 5000,
      min: 100,
      max: 60_000,
      secret: false,
    });
    expect(fields.mode).toMatchObject({ type: 'string', enum: ['fast', 'safe'], default: 'safe' });
    expect(fields.api_key).toMatchObject({
      type: 'string',
      secret: true,
      default: null,
      description: 'Provider key',
    });
    expect(fields.enabled).toMatchObject({ type: 'boolean', default: true });
    expect(fields.url?.description).toBe('Base URL');
  });
});

describe('registry', () => {
  it('holds the Hub sections, refuses duplicates, reserved scopes and fields without defaults', () => {
    const r = createSettingsRegistry(HUB_SECTIONS);
    expect(r.all().map((d) => `${d.scope}/${d.section}`)).toEqual([
      'events/retention',
      'logging/general',
      'security/auth',
    ]);
    expect(() => r.register(HUB_SECTIONS[0]!)).toThrow(/twice/);
    expect(() => r.register({ ...provider, scope: 'audit' })).toThrow(/reserved/);
    expect(() =>
      r.register(
        defineSection({ ...provider, section: 'nodefault', schema: z.strictObject({ x: z.number() }) }),
      ),
    ).toThrow(/default/);
    r.register(provider);
    expect(r.find('gateway', 'provider')).toBe(provider);
    expect(r.hasScope('gateway')).toBe(true);
    expect(r.hasScope('nope')).toBe(false);
  });
});
