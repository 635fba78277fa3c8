import type { Metric, Registry } from 'prom-client';

type LabelName = 'method' | 'route' | 'status_code';
type Labels = Record<LabelName, string>;

interface Series {
  labels: Labels;
  count: number;
  sum: number;
  /** Observations per bucket (not cumulative); those above the last bound are count minus the rest. */
  perBucket: number[];
}

/**
 * Request counts and durations kept in plain numbers and turned into Prometheus series only when
 * scraped. prom-client's Counter and Histogram hash and validate the label set on every call, even
 * through a labelled child (~1.1 µs per request measured on this machine); this is one Map lookup
 * and a few additions, which keeps the per-request cost out of throughput measurements.
 */
export class HttpSeries {
  // Nested by route, then status, then method: each lookup reuses a string whose hash V8 has
  // already cached (the route pattern object is the router's own), where one concatenated key
  // would be built and hashed again on every request.
  private readonly byRoute = new Map<string, Map<number, Map<string, Series>>>();

  constructor(readonly bounds: readonly number[]) {}

  observe(method: string, route: string, status: number, seconds: number): void {
    let byStatus = this.byRoute.get(route);
    if (!byStatus) {
      byStatus = new Map();
      this.byRoute.set(route, byStatus);
    }
    let byMethod = byStatus.get(status);
    if (!byMethod) {
      byMethod = new Map();
      byStatus.set(status, byMethod);
    }
    let s = byMethod.get(method);
    if (!s) {
      s = {
        labels: { method, route, status_code: String(status) },
        count: 0,
        sum: 0,
        perBucket: new Array<number>(this.bounds.length).fill(0),
      };
      byMethod.set(method, s);
    }
    s.count++;
    s.sum += seconds;
    const b = this.bounds;
    for (let i = 0; i < b.length; i++) {
      if (seconds <= b[i]!) {
        s.perBucket[i]!++;
        break;
      }
    }
  }

  *all(): IterableIterator<Series> {
    for (const byStatus of this.byRoute.values())
      for (const byMethod of byStatus.values()) yield* byMethod.values();
  }

  clear(): void {
    this.byRoute.clear();
  }
}

type Value = { labels: Record<string, string | number>; value: number; metricName?: string };

/**
 * What prom-client's Registry reads from a metric: name, help, type, aggregator (for cluster
 * merges), `get()` for the values, and `reset()`. Its typings only admit its own classes, whose
 * per-call costs are what this file avoids, hence the one cast at registration.
 */
function collector(
  name: string,
  help: string,
  type: 'counter' | 'histogram',
  values: () => Value[],
  reset: () => void,
) {
  return {
    name,
    help,
    type,
    aggregator: 'sum' as const,
    get: async () => ({ name, help, type, aggregator: 'sum' as const, values: values() }),
    reset,
  };
}

function counterValues(data: HttpSeries): Value[] {
  return Array.from(data.all(), (s) => ({ labels: s.labels, value: s.count }));
}

function histogramValues(name: string, data: HttpSeries): Value[] {
  const values: Value[] = [];
  const bounds = data.bounds;
  for (const s of data.all()) {
    let cumulative = 0;
    for (let i = 0; i < bounds.length; i++) {
      cumulative += s.perBucket[i]!;
      values.push({
        labels: { le: bounds[i]!, ...s.labels },
        value: cumulative,
        metricName: `${name}_bucket`,
      });
    }
    values.push({ labels: { le: '+Inf', ...s.labels }, value: s.count, metricName: `${name}_bucket` });
    values.push({ labels: s.labels, value: s.sum, metricName: `${name}_sum` });
    values.push({ labels: s.labels, value: s.count, metricName: `${name}_count` });
  }
  return values;
}

/** Registers the request counter and duration histogram, both read from one HttpSeries. */
export function registerHttpSeries(registry: Registry, bounds: readonly number[]): HttpSeries {
  const data = new HttpSeries(bounds);
  const reset = () => data.clear();
  const duration = 'polar_http_request_duration_seconds';
  for (const metric of [
    collector(
      'polar_http_requests_total',
      'HTTP requests answered, by method, route pattern and status code',
      'counter',
      () => counterValues(data),
      reset,
    ),
    collector(
      duration,
      'Time from receiving a request to sending its answer, by method, route pattern and status',
      'histogram',
      () => histogramValues(duration, data),
      reset,
    ),
  ])
    registry.registerMetric(metric as unknown as Metric);
  return data;
}
