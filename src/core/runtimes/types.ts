/**
 * The contract every local runtime implements. A runtime module runs inside a model's host process
 * (one child process per loaded model, see `host/`), so a crash or a runaway native library takes
 * down that model only. Everything that crosses the contract is plain, structured-cloneable data.
 */

/** Polar's generation parameters after precedence (request > model defaults > runtime defaults). */
export interface GenerationParameters {
  temperature: number;
  top_k: number;
  top_p: number;
  /** Largest number of new tokens. */
  max_length: number;
  repetition_penalty: number;
  do_sample: boolean;
  num_beams: number;
  length_penalty: number;
  early_stopping: boolean;
  pad_token_id?: number | undefined;
  eos_token_id?: number | undefined;
  seed?: number | undefined;
  /** Generation ends before any of these strings; they are not part of the output. */
  stop?: string[] | undefined;
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export type GenerateInput =
  | { kind: 'chat'; messages: ChatMessage[] }
  | { kind: 'completion'; prompt: string };

export interface GenerateRequest {
  input: GenerateInput;
  parameters: GenerationParameters;
}

export interface TokenUsage {
  prompt_tokens: number;
  completion_tokens: number;
}

export type FinishReason = 'stop' | 'length' | 'cancelled';

/** A generation streams text pieces, then exactly one `done`. */
export type GenerateEvent =
  | { type: 'text'; text: string }
  | { type: 'done'; finish_reason: FinishReason; usage: TokenUsage };

export interface EmbedResult {
  embeddings: number[][];
  prompt_tokens: number;
}

/** One prediction per input row; classifiers add each row's class probabilities. */
export interface PredictResult {
  predictions: unknown[];
  probabilities?: Record<string, number>[] | undefined;
}

export interface Capabilities {
  generate: boolean;
  /** Generation takes chat messages (the model has a chat template). */
  chat: boolean;
  embed: boolean;
  predict: boolean;
  /** num_beams > 1 is honoured; without it the serving layer refuses such requests with a 400. */
  beamSearch: boolean;
  /** Requests the loaded model serves at once; more wait in the node's queue. */
  parallel: number;
}

export interface LoadSpec {
  /** A directory holding the version's files at their registry paths (read-only). */
  dir: string;
  files: { path: string; size: number; format: string }[];
  /** The version's format: gguf, onnx, hf-onnx, polar-tabular. */
  format: string;
  /** The model's task (chat, completion, embedding, classification, regression, ...). */
  task: string;
  /** Runtime-specific load options, checked by the runtime (RuntimeError 'invalid_load_config'). */
  config: Record<string, unknown>;
}

export interface LoadedModel {
  readonly capabilities: Capabilities;
  /** Streams one generation; stops promptly (finish_reason 'cancelled') when `signal` aborts. */
  generate?(req: GenerateRequest, signal: AbortSignal): AsyncIterable<GenerateEvent>;
  embed?(inputs: string[], signal: AbortSignal): Promise<EmbedResult>;
  predict?(rows: Record<string, unknown>[], signal: AbortSignal): Promise<PredictResult>;
  unload(): Promise<void>;
}

/** What a runtime module exports as `runtime`. */
export interface RuntimeModule {
  load(spec: LoadSpec): Promise<LoadedModel>;
}

/**
 * An error a runtime reports on purpose (bad input, bad load config, unsupported parameter). It
 * crosses the process boundary as { code, message, status } and becomes an AppError there.
 */
export class RuntimeError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = 'RuntimeError';
  }
}
