import type { ProviderKind } from '../tables.js';
import type { Transport } from '../transport.js';

/**
 * What the gateway asks of an upstream, whatever its API: prove the connection, list the models, and
 * chat (whole or streamed). Streams have the shape of Polar's own runtimes (text pieces, then one
 * `done`), so the routing engine can treat a local model and an upstream alike.
 */
export interface RemoteModel {
  id: string;
  owned_by?: string | undefined;
  /** Bytes, when the upstream says (Ollama). */
  size?: number | undefined;
}

export interface UpstreamChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface UpstreamChatRequest {
  /** The remote model (for Azure the deployment decides and this is ignored). */
  model: string;
  messages: UpstreamChatMessage[];
  temperature?: number | undefined;
  top_p?: number | undefined;
  max_tokens?: number | undefined;
  stop?: string[] | undefined;
  seed?: number | undefined;
}

export interface UpstreamUsage {
  prompt_tokens: number;
  completion_tokens: number;
}

/** `finish_reason` as the upstream said it (stop, length, content_filter, tool_calls, …). */
export type UpstreamChatEvent =
  | { type: 'text'; text: string }
  | { type: 'done'; finish_reason: string; usage: UpstreamUsage | null };

export interface UpstreamChatResult {
  text: string;
  finish_reason: string;
  usage: UpstreamUsage | null;
  /** The model the upstream says answered. */
  model: string;
}

export interface CallOptions {
  signal?: AbortSignal | undefined;
  /** Overrides the client's timeout for this call (headers, or the whole answer when not streamed). */
  timeoutMs?: number | undefined;
}

export interface UpstreamClient {
  readonly kind: ProviderKind;
  /** The cheapest authenticated call that proves the URL and the key work. */
  ping(opts?: CallOptions): Promise<void>;
  listModels(opts?: CallOptions): Promise<RemoteModel[]>;
  chat(req: UpstreamChatRequest, opts?: CallOptions): Promise<UpstreamChatResult>;
  /** Text pieces then one `done`; ends early (closing the connection) when the consumer stops. */
  chatStream(req: UpstreamChatRequest, opts?: CallOptions): AsyncGenerator<UpstreamChatEvent>;
}

/** What every client is built from: the provider's saved settings, its opened key, and limits. */
export interface ClientConfig {
  transport: Transport;
  baseUrl: string;
  apiKey?: string | undefined;
  /** Non-streamed calls and the wait for a stream's first byte. */
  timeoutMs: number;
  /** Longest silence between two chunks of a stream. */
  idleTimeoutMs: number;
  /** Largest non-streamed answer read. */
  maxResponseBytes: number;
}
