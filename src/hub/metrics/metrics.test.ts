import { Writable } from 'node:stream';
import pino from 'pino';
import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { registerHttpSeries } from './http-series.js';
import { createMetrics } from './metrics.js';
import type { MetricsRepository } from './repository.js';

const repo = (over: Partial<MetricsRepository> = {}): MetricsRepository => ({
  usersByRole: async () => [
    { role: 'admin', disabled: false, n: 1 },
    { role: 'user', disabled: true, n: 2 },
  ],
  activeSessions: async () => 3,
  activeKeys: async () => 4,
  ...over,
});

const silent = () => {
  const lines: string[] = [];
  const log = pino(
    { level: 'info' },
    new Writable({
      write(c, _e, cb) {
        lines.push(String(c));
        cb();
      },
    }),
  );
  return { log, lines };
};

describe('metrics', () => {
  it('counts requests and observes durations by method, route and status', async () => {
    const m = createMetrics({ repo: repo(), log: silent().log });
    m.observeRequest('GET', '/api/v1/users/:id', 200, 0.003);
    m.observeRequest('GET', '/api/v1/users/:id', 200, 0.2);
    m.observeRequest('GET', '/api/v1/users/:id', 404, 0.001);
    const text = await m.registry.metrics();
    expect(text).toContain(
      'polar_http_requests_total{method="GET",route="/api/v1/users/:id",status_code="200"} 2',
    );
    expect(text).toContain(
      'polar_http_requests_total{method="GET",route="/api/v1/users/:id",status_code="404"} 1',
    );
    expect(text).toContain(
      'polar_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/api/v1/users/:id",status_code="200"} 1',
    );
    expect(text).toContain(
      'polar_http_request_duration_seconds_count{method="GET",route="/api/v1/users/:id",status_code="200"} 2',
    );
  });

  it("formats exactly as prom-client's own Counter and Histogram fed the same requests", async () => {
    const bounds = [0.005, 0.1, 1];
    const ours = new Registry();
    const series = registerHttpSeries(ours, bounds);
    const ref = new Registry();
    const labelNames = ['method', 'route', 'status_code'] as const;
    const counter = new Counter({
      name: 'polar_http_requests_total',
      help: 'HTTP requests answered, by method, route pattern and status code',
      labelNames,
      registers: [ref],
    });
    const histogram = new Histogram({
      name: 'polar_http_request_duration_seconds',
      help: 'Time from receiving a request to sending its answer, by method, route pattern and status',
      labelNames,
      buckets: bounds,
      registers: [ref],
    });
    const requests: [string, string, number, number][] = [
      ['GET', '/a', 200, 0.001],
      ['GET', '/a', 200, 0.005],
      ['POST', '/b/:id', 201, 0.3],
      ['GET', '/a', 500, 7],
      ['GET', '/a', 200, 0.02],
      ['GET', '(unmatched)', 404, 0.0001],
    ];
    for (const [method, route, status, seconds] of requests) {
      series.observe(method, route, status, seconds);
      const labels = { method, route, status_code: String(status) };
      counter.inc(labels);
      histogram.observe(labels, seconds);
    }
    // Series order within a family is free in the exposition format; every line must match.
    const lines = async (r: Registry) => (await r.metrics()).split('\n').sort();
    expect(await lines(ours)).toEqual(await lines(ref));
    ours.resetMetrics();
    expect(await ours.metrics()).not.toContain('route=');
  });

  it('keeps two apps in one process apart (a registry each)', async () => {
    const a = createMetrics({ repo: repo(), log: silent().log });
    const b = createMetrics({ repo: repo(), log: silent().log });
    a.observeRequest('GET', '/x', 200, 0.01);
    expect(await a.registry.metrics()).toContain('route="/x"');
    expect(await b.registry.metrics()).not.toContain('route="/x"');
  });

  it('exposes process metrics and the Polar gauges', async () => {
    const text = await createMetrics({ repo: repo(), log: silent().log }).registry.metrics();
    expect(text).toContain('process_cpu_user_seconds_total');
    expect(text).toContain('nodejs_heap_size_total_bytes');
    expect(text).toMatch(/polar_info\{version="\d+\.\d+\.\d+[^"]*"\} 1/);
    expect(text).toContain('polar_users{role="admin",disabled="false"} 1');
    expect(text).toContain('polar_users{role="user",disabled="true"} 2');
    expect(text).toContain('polar_sessions_active 3');
    expect(text).toContain('polar_api_keys_active 4');
  });

  it('still answers when a gauge query fails, without that gauge, and logs why', async () => {
    const { log, lines } = silent();
    let fail = false;
    const m = createMetrics({
      repo: repo({
        usersByRole: async () => {
          if (fail) throw new Error('database closed');
          return [{ role: 'admin', disabled: false, n: 1 }];
        },
      }),
      log,
    });
    expect(await m.registry.metrics()).toContain('polar_users{role="admin",disabled="false"} 1');
    fail = true;
    const text = await m.registry.metrics();
    expect(text).not.toContain('polar_users{');
    expect(text).toContain('polar_sessions_active 3');
    expect(lines.join('')).toContain('metric collection failed');
  });
});
