import type { RequestContext } from '../../hub/auth/principal.js';
import type {
  EmbedResult,
  GenerateEvent,
  GenerateInput,
  GenerationParameters,
  PredictResult,
} from '../runtimes/types.js';

/** Which public surface a request came through; recorded with every inference. */
export type InferenceEndpoint =
  | 'api_chat'
  | 'chat_completions'
  | 'completions'
  | 'embeddings'
  | 'predict'
  | 'predict_batch';

/** Request-level overrides, already range-checked at the edge; unset fields fall back to model defaults. */
export type ParameterOverrides = Partial<GenerationParameters>;

export interface GenerateCall {
  /** `name`, `name@alias`, `name:version` or a model id. */
  model: string;
  input: GenerateInput;
  parameters?: ParameterOverrides | undefined;
  endpoint: InferenceEndpoint;
  /** Aborts generation (client gone, server time limit). */
  signal: AbortSignal;
}

/**
 * A started generation. `generate()` resolves only once a slot is held and the model is loaded,
 * so refusals (not found, 400 parameters, 429/503 overload) are thrown before any byte is sent.
 */
export interface GenerationStream extends AsyncIterable<GenerateEvent> {
  /** The model as the caller addressed it, e.g. `tiny-chat@production`. */
  readonly model: string;
  readonly modelId: string;
  readonly version: number;
  /** The parameters actually used (`parameters_used`). */
  readonly parameters: GenerationParameters;
  readonly createdAt: Date;
}

export interface ServedModel {
  id: string;
  name: string;
  task: string;
  owner_id: string | null;
  created_at: Date;
}

export interface InferenceService {
  generate(ctx: RequestContext, call: GenerateCall): Promise<GenerationStream>;
  embed(
    ctx: RequestContext,
    call: { model: string; inputs: string[]; endpoint: InferenceEndpoint; signal: AbortSignal },
  ): Promise<EmbedResult & { model: string; version: number }>;
  predict(
    ctx: RequestContext,
    call: {
      model: string;
      rows: Record<string, unknown>[];
      endpoint: InferenceEndpoint;
      signal: AbortSignal;
    },
  ): Promise<PredictResult & { model: string; version: number }>;
  /** Models the caller may use that a local runtime or provider can serve. */
  listModels(ctx: RequestContext): Promise<ServedModel[]>;
}
