import type { LlamaContextSequence, LlamaEmbeddingContext } from 'node-llama-cpp';
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
import { parseLoadConfig } from './config.js';
import { chatWrapperOf, openModel } from './engine.js';
import { Generator } from './generate.js';
import { resolveModelFile } from './model-file.js';
import { Pool } from './pool.js';

/** GGUF models on llama.cpp (node-llama-cpp), CPU only: text generation, chat and embeddings. */
export const runtime: RuntimeModule = {
  async load(spec: LoadSpec): Promise<LoadedModel> {
    const config = parseLoadConfig(spec.config);
    const modelPath = resolveModelFile(spec, config.file);
    const { model, context, contextSize, threads } = await openModel(modelPath, config);
    const sequences = Array.from({ length: config.parallel }, () => context.getSequence());
    const pool = new Pool<LlamaContextSequence>(sequences);
    const chatWrapper = chatWrapperOf(model);
    const generator = new Generator({ model, chatWrapper, contextSize }, pool);
    const capabilities: Capabilities = {
      generate: true,
      chat: chatWrapper !== null,
      embed: config.embedding,
      predict: false,
      beamSearch: false,
      parallel: config.parallel,
    };

    let embedding: Promise<LlamaEmbeddingContext> | undefined;
    const embeddingContext = () => {
      // Created on first use: a second context costs memory that generation-only deployments never need.
      embedding ??= model
        .createEmbeddingContext({ contextSize, batchSize: contextSize, threads })
        .catch((err) => {
          embedding = undefined;
          throw err;
        });
      return embedding;
    };

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
        if (!config.embedding) {
          throw new RuntimeError(
            'embeddings_disabled',
            'embeddings are off for this deployment (llama load config embedding: false)',
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
        const embeddings: number[][] = [];
        for (const text of inputs) {
          if (signal.aborted) throw new RuntimeError('cancelled', 'the embedding request was cancelled', 499);
          ensureLoaded();
          embeddings.push(Array.from((await ctx.getEmbeddingFor(text)).vector));
        }
        return { embeddings, prompt_tokens: lengths.reduce((a, b) => a + b, 0) };
      },
      unload(): Promise<void> {
        unloading ??= (async () => {
          pool.close();
          await generator.stopAll();
          await embedding?.then((ctx) => ctx.dispose()).catch(() => undefined);
          await context.dispose();
          await model.dispose();
        })();
        return unloading;
      },
    };
  },
};
