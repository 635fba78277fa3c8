import type { Logger } from 'pino';
import type { RequestContext } from '../../hub/auth/principal.js';
import { AppError, ValidationError } from '../../platform/errors.js';
import type { RegistryRepository } from '../registry/repository.js';
import type { ModelAccess } from '../registry/service.js';
import type { GenerateEvent, GenerateInput, GenerationParameters } from '../runtimes/types.js';
import type { Lease, ModelManager } from '../serving/manager.js';
import { resolveParameters } from '../serving/parameters/schema.js';
import { parseModelRef, resolveTarget, retiredVersion, type Target } from '../serving/target.js';
import type {
  GenerationStream,
  InferenceEndpoint,
  InferenceService,
  ParameterOverrides,
  ServedModel,
} from './types.js';
import type { InferenceRecord, UsageSink } from './usage.js';

export interface InferenceDeps {
  repo: RegistryRepository;
  access: ModelAccess;
  manager: ModelManager;
  /** A model's stored parameter overrides. */
  storedParameters(modelId: string): Promise<ParameterOverrides>;
  usage: UsageSink;
  log: Logger;
  /** Formats something can serve (local runtimes, and later the gateway). */
  servable(format: string): boolean;
}

const NOT_GENERATIVE = new Set(['embedding', 'classification', 'regression']);

const cannot = (what: string, name: string, code: string) =>
  new AppError(400, code, `Model '${name}' cannot ${what}`);

/**
 * Inference over loaded versions: resolves what the caller addressed, holds a slot for the request
 * (loading the version when the policy allows), applies parameter precedence and records every call.
 */
export function createInferenceService(deps: InferenceDeps): InferenceService {
  const target = async (ctx: RequestContext, ref: string): Promise<Target> => {
    const t = await resolveTarget(deps, ctx, parseModelRef(ref), { allowRetired: true });
    if (t.version.status === 'retired' && !deps.manager.allowsRetired(t.version.id))
      throw retiredVersion(t.version.version);
    return t;
  };

  const baseRecord = (ctx: RequestContext, t: Target, endpoint: InferenceEndpoint) => ({
    requestId: ctx.requestId,
    modelId: t.model.id,
    modelName: t.model.name,
    version: t.version.version,
    endpoint,
    userId: ctx.principal?.userId ?? null,
    keyId: ctx.principal?.keyId ?? null,
  });

  /** A lease, recording a refusal (busy, capacity, failed load) as a rejected inference. */
  async function lease(ctx: RequestContext, t: Target, endpoint: InferenceEndpoint, signal: AbortSignal) {
    const started = performance.now();
    try {
      return await deps.manager.lease(t.model, t.version, signal);
    } catch (err) {
      deps.usage.record({
        ...baseRecord(ctx, t, endpoint),
        status: 'rejected',
        errorCode: err instanceof AppError ? err.code : 'internal',
        tokensIn: 0,
        tokensOut: 0,
        rows: 0,
        latencyMs: performance.now() - started,
        ttftMs: null,
      });
      throw err;
    }
  }

  const errorCode = (err: unknown) => (err instanceof AppError ? err.code : 'internal');

  return {
    async generate(ctx, call) {
      const t = await target(ctx, call.model);
      if (NOT_GENERATIVE.has(t.model.task))
        throw cannot('generate text', t.model.name, 'model_cannot_generate');
      const parameters = resolveParameters({
        model: await deps.storedParameters(t.model.id),
        request: call.parameters,
      });
      const ac = new AbortController();
      const abort = () => ac.abort();
      if (call.signal.aborted) ac.abort();
      else call.signal.addEventListener('abort', abort, { once: true });
      const started = performance.now();
      let held: Lease;
      try {
        held = await lease(ctx, t, call.endpoint, ac.signal);
      } catch (err) {
        call.signal.removeEventListener('abort', abort);
        throw err;
      }
      const caps = held.host.capabilities;
      try {
        if (!caps.generate) throw cannot('generate text', t.model.name, 'model_cannot_generate');
        if (parameters.num_beams > 1 && !caps.beamSearch)
          throw new ValidationError(
            `num_beams must be 1 for '${t.model.name}': its runtime (${held.entry.runtime}) has no beam search`,
            [{ path: 'num_beams', message: 'beam search is not supported by this model’s runtime' }],
            'unsupported_parameter',
          );
      } catch (err) {
        held.release();
        call.signal.removeEventListener('abort', abort);
        throw err;
      }
      const input: GenerateInput =
        call.input.kind === 'chat' && !caps.chat ? asPrompt(call.input) : call.input;
      const record = (
        r: Pick<InferenceRecord, 'status' | 'errorCode' | 'tokensIn' | 'tokensOut' | 'ttftMs'>,
      ) =>
        deps.usage.record({
          ...baseRecord(ctx, t, call.endpoint),
          ...r,
          rows: 0,
          latencyMs: performance.now() - started,
        });

      async function* run(): AsyncGenerator<GenerateEvent> {
        let ttft: number | null = null;
        let finished = false;
        try {
          for await (const event of held.host.generate({ input, parameters }, ac.signal)) {
            if (event.type === 'text' && ttft === null) ttft = performance.now() - started;
            if (event.type === 'done') {
              finished = true;
              record({
                status: event.finish_reason === 'cancelled' ? 'cancelled' : 'ok',
                errorCode: null,
                tokensIn: event.usage.prompt_tokens,
                tokensOut: event.usage.completion_tokens,
                ttftMs: ttft,
              });
            }
            yield event;
          }
        } catch (err) {
          finished = true;
          record({ status: 'error', errorCode: errorCode(err), tokensIn: 0, tokensOut: 0, ttftMs: ttft });
          throw err;
        } finally {
          // The consumer left early (client gone): stop the runtime too.
          if (!finished) {
            ac.abort();
            record({ status: 'cancelled', errorCode: null, tokensIn: 0, tokensOut: 0, ttftMs: ttft });
          }
          call.signal.removeEventListener('abort', abort);
          held.release();
        }
      }
      const stream: GenerationStream = Object.assign(run(), {
        model: t.label,
        modelId: t.model.id,
        version: t.version.version,
        parameters: parameters as GenerationParameters,
        createdAt: new Date(),
      });
      return stream;
    },

    async embed(ctx, call) {
      const t = await target(ctx, call.model);
      return withLease(ctx, t, call.endpoint, call.signal, async (held) => {
        if (!held.host.capabilities.embed)
          throw cannot('make embeddings', t.model.name, 'model_cannot_embed');
        const r = await held.host.embed(call.inputs, call.signal);
        return {
          result: { ...r, model: t.label, version: t.version.version },
          tokensIn: r.prompt_tokens,
          rows: 0,
        };
      });
    },

    async predict(ctx, call) {
      const t = await target(ctx, call.model);
      return withLease(ctx, t, call.endpoint, call.signal, async (held) => {
        if (!held.host.capabilities.predict) throw cannot('predict', t.model.name, 'model_cannot_predict');
        const r = await held.host.predict(call.rows, call.signal);
        return {
          result: { ...r, model: t.label, version: t.version.version },
          tokensIn: 0,
          rows: call.rows.length,
        };
      });
    },

    async listModels(ctx) {
      const isAdmin = ctx.principal?.role === 'admin';
      const out: ServedModel[] = [];
      let afterName: string | undefined;
      // Bounded: /v1/models is a flat list; 10 pages of 200 covers any sensible install.
      for (let page = 0; page < 10; page++) {
        const rows = await deps.repo.listModels({
          visibleTo: isAdmin ? undefined : ctx.principal?.userId,
          afterName,
          limit: 200,
        });
        const latest = new Map(
          (await deps.repo.versionSummaries(rows.map((m) => m.id))).map((v) => [v.modelId, v]),
        );
        for (const m of rows.slice(0, 200)) {
          const v = latest.get(m.id);
          if (v && deps.servable(v.format))
            out.push({ id: m.id, name: m.name, task: m.task, owner_id: m.ownerId, created_at: m.createdAt });
        }
        if (rows.length <= 200) break;
        afterName = rows[199]?.name.toLowerCase();
      }
      return out;
    },
  };

  async function withLease<T>(
    ctx: RequestContext,
    t: Target,
    endpoint: InferenceEndpoint,
    signal: AbortSignal,
    fn: (held: Lease) => Promise<{ result: T; tokensIn: number; rows: number }>,
  ): Promise<T> {
    const started = performance.now();
    const held = await lease(ctx, t, endpoint, signal);
    const base = baseRecord(ctx, t, endpoint);
    try {
      const { result, tokensIn, rows } = await fn(held);
      deps.usage.record({
        ...base,
        status: 'ok',
        errorCode: null,
        tokensIn,
        tokensOut: 0,
        rows,
        latencyMs: performance.now() - started,
        ttftMs: null,
      });
      return result;
    } catch (err) {
      deps.usage.record({
        ...base,
        status: signal.aborted ? 'cancelled' : 'error',
        errorCode: errorCode(err),
        tokensIn: 0,
        tokensOut: 0,
        rows: 0,
        latencyMs: performance.now() - started,
        ttftMs: null,
      });
      throw err;
    } finally {
      held.release();
    }
  }
}

/** Chat turns as plain text, for models that have no chat template. */
function asPrompt(input: Extract<GenerateInput, { kind: 'chat' }>): GenerateInput {
  const lines = input.messages.map((m) => `${m.role[0]?.toUpperCase()}${m.role.slice(1)}: ${m.content}`);
  return { kind: 'completion', prompt: `${lines.join('\n')}\nAssistant:` };
}
