import {
  InsufficientMemoryError,
  type LlamaContextSequence,
  type LlamaEmbeddingContext,
} from 'node-llama-cpp';
import type {
  Capabilities,
  EmbedResult,
  GenerateEvent,
  GenerateRequest,
  LoadedModel,
  LoadSpec,
  RuntimeModule,
} from '../types.js';
import { RuntimeError } from '../types.js';
import { type LlamaLoadConfig, parseLoadConfig } from './config.js';
import { chatWrapperOf, messageOf, type OpenedModel, openModel } from './engine.js';
import { Generator } from './generate.js';
import { resolveModelFile } from './model-file.js';
import { Pool } from './pool.js';

/** GGUF models on llama.cpp (node-llama-cpp), CPU only: text generation, chat and embeddings. */
export const runtime: RuntimeModule = {
  async load(spec: LoadSpec): Promise<LoadedModel> {
    const config = parseLoadConfig(spec.config);
    const modelPath = resolveModelFile(spec, config.file);
    const opened = await openModel(modelPath, config);
    try {
      return serve(opened, config);
    } catch (err) {
      await opened.context.dispose();
      await opened.model.dispose();
      throw err;
    }
  },
};

/** The loaded model's face: its sequences, generation, lazy embeddings and unload. */
function serve({ model, context, contextSize, threads }: OpenedModel, config: LlamaLoadConfig): LoadedModel {
  const sequences = Array.from({ length: config.parallel }, () => context.getSequence());
  const pool = new Pool<LlamaContextSequence>(sequences);
  const chatWrapper = chatWrapperOf(model);
  const generator = new Generator({ model, chatWrapper, contextSize }, pool);
  const capabilities: Capabilities = {
    generate: true,
    chat: chatWrapper !== null,
    // llama.cpp computes no embeddings for encoder-decoder models (T5 and the like).
    embed: config.embedding && !(model.fileInsights.hasEncoder && model.fileInsights.hasDecoder),
    predict: false,
    beamSearch: false,
    parallel: config.parallel,
  };

  let embedding: Promise<LlamaEmbeddingContext> | undefined;
  const embeddingContext = () => {
    // Created on first use: a second context costs memory that generation-only deployments never need.
    embedding ??= model
      .createEmbeddingContext({ contextSize, batchSize: contextSize, threads })
      .catch((err: unknown) => {
        embedding = undefined;
        if (err instanceof InsufficientMemoryError) {
          throw new RuntimeError(
            'insufficient_memory',
            `not enough memory for embeddings: ${err.message}`,
            503,
          );
        }
        throw new RuntimeError(
          'embeddings_unsupported',
          `this model computes no embeddings: ${messageOf(err)}`,
          422,
        );
      });
    return embedding;
  };

  const embeddingWork = new Set<Promise<unknown>>();
  let unloading: Promise<void> | undefined;
  const ensureLoaded = () => {
    if (unloading) throw new RuntimeError('model_unloaded', 'the model was unloaded', 503);
  };

  return {
    capabilities,
    generate(req: GenerateRequest, signal: AbortSignal): AsyncIterable<GenerateEvent> {
      ensureLoaded();
      return generator.generate(req, signal);
    },
    async embed(inputs: string[], signal: AbortSignal): Promise<EmbedResult> {
      ensureLoaded();
      if (!capabilities.embed) {
        throw new RuntimeError(
          'embeddings_disabled',
          config.embedding
            ? 'this model computes no embeddings (encoder-decoder)'
            : 'embeddings are off for this deployment (llama load config embedding: false)',
          400,
        );
      }
      const ctx = await embeddingContext();
      // Check every input before computing any, so a bad batch costs nothing.
      const lengths = inputs.map((text, i) => {
        if (text.length === 0) throw new RuntimeError('invalid_input', `input ${i} is empty`, 400);
        const tokens = ctx.calculateInputLength(text);
        if (tokens >= contextSize) {
          throw new RuntimeError(
            'input_too_long',
            `input ${i} has ${tokens} tokens; this deployment embeds at most ${contextSize - 1} (context_size)`,
            400,
          );
        }
        return tokens;
      });
      const work = (async () => {
        const embeddings: number[][] = [];
        for (const text of inputs) {
          if (signal.aborted) throw new RuntimeError('cancelled', 'the embedding request was cancelled', 499);
          ensureLoaded(); // unload waits for this input, then refuses the next
          embeddings.push(Array.from((await ctx.getEmbeddingFor(text)).vector));
        }
        return { embeddings, prompt_tokens: lengths.reduce((a, b) => a + b, 0) };
      })();
      embeddingWork.add(work);
      try {
        return await work;
      } finally {
        embeddingWork.delete(work);
      }
    },
    unload(): Promise<void> {
      unloading ??= (async () => {
        pool.close();
        await generator.stopAll();
        await Promise.allSettled(embeddingWork);
        await embedding?.then((ctx) => ctx.dispose()).catch(() => undefined);
        await context.dispose();
        await model.dispose();
      })();
      return unloading;
    },
  };
}
