import { Counter, Histogram, type Registry } from 'prom-client';
import type { InferenceStatus } from '../tables.js';

/** Seconds; a tiny classifier answers in milliseconds, a long generation on CPU in minutes. */
const LATENCY_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
/** Seconds to the first token: prompt processing, plus loading when the model was not loaded yet. */
const TTFT_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Tokens per second while decoding: ~1 for a large model on CPU to thousands for a tiny one. */
const RATE_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000];

export interface ObservedRequest {
  modelName: string;
  endpoint: string;
  status: InferenceStatus;
  tokensIn: number;
  tokensOut: number;
  latencyMs: number;
  ttftMs: number | null;
}

/**
 * Decode rate of one generation: tokens after the first over the time after the first token, so
 * prompt processing (and a cold load) does not count against it. Without a first-token time, the
 * whole request's time is used. Undefined when there is nothing to measure.
 */
export function decodeRate(
  r: Pick<ObservedRequest, 'tokensOut' | 'latencyMs' | 'ttftMs'>,
): number | undefined {
  if (r.tokensOut <= 0) return undefined;
  if (r.ttftMs !== null && r.tokensOut > 1 && r.latencyMs > r.ttftMs)
    return (r.tokensOut - 1) / ((r.latencyMs - r.ttftMs) / 1000);
  if (r.ttftMs === null && r.latencyMs > 0) return r.tokensOut / (r.latencyMs / 1000);
  return undefined;
}

/**
 * Inference series on the app's registry. Labels are bounded: model names come from the registry,
 * endpoints and statuses from fixed lists. The decode rate is a histogram rather than a gauge of the
 * last request, so concurrent requests and scrape timing do not hide slow generations.
 */
export function createInferenceMetrics(registry: Registry) {
  const registers = [registry];
  const requests = new Counter({
    name: 'polar_inference_requests_total',
    help: 'Inference requests by model, endpoint and outcome (ok, error, cancelled, rejected)',
    labelNames: ['model', 'endpoint', 'status'] as const,
    registers,
  });
  const latency = new Histogram({
    name: 'polar_inference_latency_seconds',
    help: 'Inference request duration, from admission to the last byte',
    labelNames: ['model', 'endpoint'] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const ttft = new Histogram({
    name: 'polar_inference_ttft_seconds',
    help: 'Time to the first generated token',
    labelNames: ['model'] as const,
    buckets: TTFT_BUCKETS,
    registers,
  });
  const tokens = new Counter({
    name: 'polar_inference_tokens_total',
    help: 'Tokens read (in: prompt) and generated (out)',
    labelNames: ['model', 'direction'] as const,
    registers,
  });
  const rate = new Histogram({
    name: 'polar_inference_tokens_per_second',
    help: 'Decode rate of successful generations: tokens after the first per second after the first',
    labelNames: ['model'] as const,
    buckets: RATE_BUCKETS,
    registers,
  });
  const dropped = new Counter({
    name: 'polar_inference_records_dropped_total',
    help: 'Inference records not saved: buffer full (overflow), database refused twice (insert_failed), after close',
    labelNames: ['reason'] as const,
    registers,
  });

  return {
    dropped,
    observe(r: ObservedRequest) {
      const model = r.modelName;
      requests.inc({ model, endpoint: r.endpoint, status: r.status });
      latency.observe({ model, endpoint: r.endpoint }, r.latencyMs / 1000);
      if (r.ttftMs !== null) ttft.observe({ model }, r.ttftMs / 1000);
      if (r.tokensIn > 0) tokens.inc({ model, direction: 'in' }, r.tokensIn);
      if (r.tokensOut > 0) tokens.inc({ model, direction: 'out' }, r.tokensOut);
      const tps = r.status === 'ok' ? decodeRate(r) : undefined;
      if (tps !== undefined) rate.observe({ model }, tps);
    },
  };
}
export type InferenceMetrics = ReturnType<typeof createInferenceMetrics>;
