import type { InferenceEndpoint } from './types.js';

/** One inference as the usage recorder stores it. */
export interface InferenceRecord {
  requestId: string;
  modelId: string;
  modelName: string;
  version: number;
  endpoint: InferenceEndpoint;
  userId: string | null;
  keyId: string | null;
  status: 'ok' | 'error' | 'cancelled' | 'rejected';
  errorCode: string | null;
  tokensIn: number;
  tokensOut: number;
  rows: number;
  latencyMs: number;
  ttftMs: number | null;
}

/** Where inference records go; recording never fails or slows the request. */
export interface UsageSink {
  record(rec: InferenceRecord): void;
}
