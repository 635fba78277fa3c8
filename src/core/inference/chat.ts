import type { RequestContext } from '../../hub/auth/principal.js';
import { AppError, ValidationError } from '../../platform/errors.js';
import type { ChatMessage, FinishReason } from '../runtimes/types.js';
import type { ModelManager } from '../serving/manager.js';
import type { ChatBody } from './schema.js';
import type { InferenceService } from './types.js';

const GENERATIVE = new Set(['chat', 'completion', 'other']);

/**
 * Seed 003's /chat: one answer, whole, within a time limit. When the limit strikes mid-answer the
 * text so far is returned with finish_reason `time_limit`; before any text, a 504.
 */
export function createChat(deps: { inference: InferenceService; manager: ModelManager; limitMs: number }) {
  const defaultModel = () => {
    const loaded = deps.manager
      .entries()
      .filter((e) => e.status === 'loaded' && GENERATIVE.has(e.model.task))
      .sort((a, b) => b.lastUsed - a.lastUsed)[0];
    if (!loaded)
      throw new ValidationError(
        'No chat model is loaded; name one in `model`',
        [{ path: 'model', message: 'required when no chat model is loaded' }],
        'model_required',
      );
    return `${loaded.model.name}:${loaded.version.version}`;
  };

  return async (ctx: RequestContext, body: ChatBody, clientGone: AbortSignal) => {
    const limit = AbortSignal.timeout(deps.limitMs);
    const signal = AbortSignal.any([clientGone, limit]);
    const messages: ChatMessage[] = [
      ...(body.system ? [{ role: 'system' as const, content: body.system }] : []),
      ...(body.messages ?? []),
      { role: 'user', content: body.message },
    ];
    const overLimit = () =>
      new AppError(504, 'chat_time_limit', `No answer within ${Math.round(deps.limitMs / 1000)} s`);
    let stream: Awaited<ReturnType<InferenceService['generate']>>;
    try {
      stream = await deps.inference.generate(ctx, {
        model: body.model ?? defaultModel(),
        input: { kind: 'chat', messages },
        parameters: {
          ...body.parameters,
          ...(body.seed !== undefined ? { seed: body.seed } : {}),
          ...(body.stop ? { stop: body.stop } : {}),
        },
        endpoint: 'api_chat',
        signal,
      });
    } catch (err) {
      if (limit.aborted) throw overLimit();
      throw err;
    }
    let text = '';
    let finish: FinishReason | 'time_limit' = 'cancelled';
    let usage = { prompt_tokens: 0, completion_tokens: 0 };
    for await (const e of stream) {
      if (e.type === 'text') text += e.text;
      else {
        finish = e.finish_reason;
        usage = e.usage;
      }
    }
    if (limit.aborted) {
      if (!text) throw overLimit();
      finish = 'time_limit';
    }
    return {
      response: text,
      model: stream.model,
      timestamp: new Date().toISOString(),
      parameters_used: { ...stream.parameters },
      model_id: stream.modelId,
      version: stream.version,
      finish_reason: finish,
      usage,
      channel: body.channel ?? null,
      user_id: body.user_id ?? null,
    };
  };
}
export type Chat = ReturnType<typeof createChat>;
