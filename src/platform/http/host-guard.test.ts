import { describe, expect, it } from 'vitest';
import { allowedHostSet, hostnameOf } from './host-guard.js';

describe('host guard', () => {
  it('extracts the host name from a Host header', () => {
    expect(hostnameOf('Example.com:8000')).toBe('example.com');
    expect(hostnameOf('[::1]:8000')).toBe('[::1]');
    expect(hostnameOf('localhost')).toBe('localhost');
  });

  it('allows loopback names, the bound host and listed hosts', () => {
    const set = allowedHostSet({
      boundHost: '10.0.0.5',
      allowedHosts: ['polar.example:443'],
      allowedOrigins: [],
    });
    expect(set).not.toBe('any');
    const s = set as Set<string>;
    for (const h of ['localhost', '127.0.0.1', '[::1]', '10.0.0.5', 'polar.example'])
      expect(s.has(h)).toBe(true);
    expect(s.has('evil.example')).toBe(false);
  });

  it('does not allow every name just because the node binds 0.0.0.0', () => {
    const s = allowedHostSet({ boundHost: '0.0.0.0', allowedHosts: [], allowedOrigins: [] }) as Set<string>;
    expect(s.has('0.0.0.0')).toBe(false);
    expect(allowedHostSet({ boundHost: '0.0.0.0', allowedHosts: ['*'], allowedOrigins: [] })).toBe('any');
  });
});
