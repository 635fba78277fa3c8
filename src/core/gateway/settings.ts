import { z } from 'zod';
import { defineSection } from '../../hub/settings/registry.js';

/** Limits on every call to an upstream provider; a provider's own timeout_ms overrides `timeout_ms`. */
export const upstreamSettings = defineSection({
  scope: 'gateway',
  section: 'upstream',
  description: 'Time and size limits on calls to external providers',
  schema: z.strictObject({
    timeout_ms: z
      .number()
      .int()
      .min(100)
      .max(600_000)
      .default(60_000)
      .describe(
        'Longest a whole answer (or the first byte of a stream) may take, unless the provider sets its own',
      ),
    stream_idle_timeout_ms: z
      .number()
      .int()
      .min(100)
      .max(600_000)
      .default(60_000)
      .describe('Longest silence between two chunks of a streamed answer'),
    test_timeout_ms: z
      .number()
      .int()
      .min(100)
      .max(120_000)
      .default(10_000)
      .describe('Longest a connectivity test or a model listing may take'),
    max_response_bytes: z
      .number()
      .int()
      .min(1024)
      .max(256 * 1024 * 1024)
      .default(16 * 1024 * 1024)
      .describe('Largest non-streamed answer read from a provider'),
  }),
});

export const GATEWAY_SECTIONS = [upstreamSettings];
