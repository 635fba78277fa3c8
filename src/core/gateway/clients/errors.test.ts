import { describe, expect, it } from 'vitest';
import { upstreamMessage } from '../transport.js';
import { scrub, statusError } from './errors.js';

describe('scrub', () => {
  it('removes the secrets, bearer tokens and key-looking words', () => {
    const key = 'abcd1234efgh5678';
    expect(scrub(`bad key ${key} given`, [key])).toBe('bad key [redacted] given');
    expect(scrub('header was Bearer xyz.secret', [])).toBe('header was Bearer [redacted]');
    expect(scrub('Incorrect API key provided: sk-proj-****************wxyz.', [])).toBe(
      'Incorrect API key provided: [redacted].',
    );
    expect(scrub('plain words stay', ['x'])).toBe('plain words stay');
  });
});

describe('upstreamMessage', () => {
  it.each([
    ['{"error":{"message":"The model does not exist","type":"x"}}', 'The model does not exist'],
    ['{"error":"model not found"}', 'model not found'],
    ['{"object":"error","message":"vLLM says no"}', 'vLLM says no'],
    ['{"detail":"Not Found"}', 'Not Found'],
    ['upstream connect error', 'upstream connect error'],
    ['<html><body>502 Bad Gateway</body></html>', undefined],
    ['{"error":{"code":1}}', undefined],
    ['', undefined],
  ])('%s → %s', (body, message) => {
    expect(upstreamMessage(body)).toBe(message);
  });
});

describe('statusError', () => {
  it('drops the upstream words on auth failures, where keys are echoed', () => {
    const e = statusError(401, 'Incorrect API key provided: sk-abc', undefined);
    expect(e.code).toBe('upstream_unauthorized');
    expect(e.message).not.toContain('sk-abc');
  });

  it('classifies statuses and passes Retry-After on', () => {
    expect(statusError(429, undefined, undefined).retryAfter).toBe(1);
    expect(statusError(429, undefined, 30).retryAfter).toBe(30);
    expect(statusError(404, 'no model', undefined)).toMatchObject({ code: 'upstream_rejected', status: 502 });
    expect(statusError(503, undefined, undefined)).toMatchObject({ code: 'upstream_error', retryable: true });
    expect(statusError(418, undefined, undefined).code).toBe('upstream_error');
  });
});
