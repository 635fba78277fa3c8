import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createInferenceMetrics, decodeRate } from './metrics.js';

describe('decodeRate', () => {
  it('counts tokens after the first over the time after the first token', () => {
    expect(decodeRate({ tokensOut: 11, latencyMs: 1100, ttftMs: 100 })).toBe(10);
  });
  it('uses the whole request when no first-token time is known', () => {
    expect(decodeRate({ tokensOut: 20, latencyMs: 2000, ttftMs: null })).toBe(10);
  });
  it('has nothing to measure without tokens, with one token after the first-token time, or with no time', () => {
    expect(decodeRate({ tokensOut: 0, latencyMs: 100, ttftMs: 10 })).toBeUndefined();
    expect(decodeRate({ tokensOut: 1, latencyMs: 100, ttftMs: 100 })).toBeUndefined();
    expect(decodeRate({ tokensOut: 5, latencyMs: 0, ttftMs: null })).toBeUndefined();
    expect(decodeRate({ tokensOut: 5, latencyMs: 50, ttftMs: 50 })).toBeUndefined();
  });
});

describe('inference metrics', () => {
  it('counts requests, tokens, latency, first-token time and decode rate per model', async () => {
    const registry = new Registry();
    const m = createInferenceMetrics(registry);
    const base = { modelName: 'tiny', endpoint: 'chat_completions', tokensIn: 5, latencyMs: 1100 };
    m.observe({ ...base, status: 'ok', tokensOut: 11, ttftMs: 100 });
    m.observe({ ...base, status: 'ok', tokensOut: 11, ttftMs: 100 });
    m.observe({ ...base, status: 'error', tokensOut: 3, ttftMs: null });
    const text = await registry.metrics();
    expect(text).toContain(
      'polar_inference_requests_total{model="tiny",endpoint="chat_completions",status="ok"} 2',
    );
    expect(text).toContain(
      'polar_inference_requests_total{model="tiny",endpoint="chat_completions",status="error"} 1',
    );
    expect(text).toContain('polar_inference_tokens_total{model="tiny",direction="in"} 15');
    expect(text).toContain('polar_inference_tokens_total{model="tiny",direction="out"} 25');
    expect(text).toContain(
      'polar_inference_latency_seconds_count{model="tiny",endpoint="chat_completions"} 3',
    );
    expect(text).toContain(
      'polar_inference_latency_seconds_sum{model="tiny",endpoint="chat_completions"} 3.3',
    );
    expect(text).toContain('polar_inference_ttft_seconds_count{model="tiny"} 2');
    // Only successful generations feed the decode rate: 10 tok/s twice.
    expect(text).toContain('polar_inference_tokens_per_second_count{model="tiny"} 2');
    expect(text).toContain('polar_inference_tokens_per_second_sum{model="tiny"} 20');
    expect(text).toContain('polar_inference_tokens_per_second_bucket{le="10",model="tiny"} 2');
  });
});
