import { describe, expect, it } from 'vitest';
import { createHealthRegistry } from './registry.js';
import { levelOf, worstLevel } from './resources.js';

describe('health registry', () => {
  it('reports each check with its latency, and ok overall when all are ok', async () => {
    let now = 0;
    const r = createHealthRegistry(() => now);
    r.register({
      name: 'a',
      check: () => {
        now += 7;
        return { status: 'ok', details: { n: 1 } };
      },
    });
    const report = await r.run();
    expect(report.status).toBe('ok');
    expect(report.components.a).toEqual({ status: 'ok', latency_ms: 7, details: { n: 1 } });
  });

  it('is down when a critical check is down, degraded when a non-critical one is', async () => {
    const r = createHealthRegistry();
    r.register({ name: 'cache', check: () => ({ status: 'down' }) });
    expect((await r.run()).status).toBe('degraded');
    r.register({ name: 'db', critical: true, check: () => ({ status: 'down' }) });
    expect((await r.run()).status).toBe('down');
  });

  it('a degraded critical check only degrades', async () => {
    const r = createHealthRegistry();
    r.register({ name: 'db', critical: true, check: () => ({ status: 'degraded' }) });
    expect((await r.run()).status).toBe('degraded');
  });

  it('turns a throwing check into down with its message', async () => {
    const r = createHealthRegistry();
    r.register({
      name: 'boom',
      check: () => {
        throw new Error('connection refused');
      },
    });
    r.register({ name: 'reject', check: () => Promise.reject(new Error('nope')) });
    const report = await r.run();
    expect(report.components.boom).toMatchObject({ status: 'down', message: 'connection refused' });
    expect(report.components.reject).toMatchObject({ status: 'down', message: 'nope' });
  });

  it('reports a check that does not answer in time as down', async () => {
    const r = createHealthRegistry();
    r.register({ name: 'hang', timeoutMs: 20, check: () => new Promise(() => {}) });
    const report = await r.run();
    expect(report.components.hang).toMatchObject({ status: 'down', message: 'no answer within 20 ms' });
  });

  it('runs only readiness checks when asked', async () => {
    const r = createHealthRegistry();
    r.register({ name: 'db', readiness: true, check: () => ({ status: 'ok' }) });
    r.register({ name: 'disk', check: () => ({ status: 'down' }) });
    const report = await r.run({ readinessOnly: true });
    expect(Object.keys(report.components)).toEqual(['db']);
    expect(report.status).toBe('ok');
  });

  it('refuses two checks with one name', () => {
    const r = createHealthRegistry();
    r.register({ name: 'db', check: () => ({ status: 'ok' }) });
    expect(() => r.register({ name: 'db', check: () => ({ status: 'ok' }) })).toThrow(/already registered/);
    expect(r.names()).toEqual(['db']);
  });
});

describe('resource levels', () => {
  it('maps usage to healthy, warning and critical at the thresholds', () => {
    const t = { warning: 80, critical: 90 };
    expect(levelOf(79.99, t)).toBe('healthy');
    expect(levelOf(80, t)).toBe('warning');
    expect(levelOf(90, t)).toBe('critical');
    expect(worstLevel(['healthy', 'critical', 'warning'])).toBe('critical');
    expect(worstLevel([])).toBe('healthy');
  });
});
