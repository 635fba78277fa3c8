import type {
  Capabilities,
  EmbedResult,
  GenerateEvent,
  GenerateRequest,
  LoadSpec,
  PredictResult,
} from '../types.js';

/**
 * Messages between the node and a model's host process (Node IPC, structured-clone serialisation).
 * Requests carry an id; the host answers each with `result` or `error`, and a generation with its
 * `event`s followed by `end` or `error`. A `cancel` for an id aborts that request.
 */
export type ToHost =
  | { type: 'load'; module: string; spec: LoadSpec }
  | { type: 'generate'; id: number; req: GenerateRequest }
  | { type: 'embed'; id: number; inputs: string[] }
  | { type: 'predict'; id: number; rows: Record<string, unknown>[] }
  | { type: 'memory'; id: number }
  | { type: 'cancel'; id: number }
  | { type: 'unload' };

export interface WireError {
  code: string;
  message: string;
  status: number;
  /** false for a deliberate RuntimeError, true for anything the runtime did not mean to throw. */
  unexpected: boolean;
}

export type FromHost =
  | { type: 'loaded'; capabilities: Capabilities; rss: number }
  | { type: 'load_error'; error: WireError }
  | { type: 'event'; id: number; event: GenerateEvent }
  | { type: 'end'; id: number }
  | { type: 'result'; id: number; result: EmbedResult | PredictResult | { rss: number } }
  | { type: 'error'; id: number; error: WireError }
  | { type: 'unloaded' };
