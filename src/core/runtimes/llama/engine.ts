import {
  type ChatWrapper,
  getLlama,
  InsufficientMemoryError,
  type Llama,
  type LlamaContext,
  LlamaLogLevel,
  type LlamaModel,
  resolveChatWrapper,
} from 'node-llama-cpp';
import { validateGguf } from '../../formats/gguf.js';
import { withFileSource } from '../../formats/source.js';
import { RuntimeError } from '../types.js';
import { type LlamaLoadConfig, resolveContextSize } from './config.js';

let shared: Promise<Llama> | undefined;

/**
 * The process's llama.cpp binding, loaded once: it holds the native backend, and a model's host
 * process may load several contexts over its life. CPU only and never a source build, because Polar
 * ships the prebuilt binary from npm and must not compile or download anything at run time.
 */
export function sharedLlama(): Promise<Llama> {
  shared ??= getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.warn }).catch((err: unknown) => {
    shared = undefined;
    throw err;
  });
  return shared;
}

export interface OpenedModel {
  model: LlamaModel;
  context: LlamaContext;
  /** Tokens per sequence. */
  contextSize: number;
  threads: number;
}

/**
 * Loads a GGUF file and creates its generation context with the runtime's settings; the benchmark
 * calls this too, so both measure the same thing. The model is disposed again if the context fails.
 */
export async function openModel(modelPath: string, config: LlamaLoadConfig): Promise<OpenedModel> {
  await checkGguf(modelPath);
  const llama = await sharedLlama();
  let model: LlamaModel;
  try {
    model = await llama.loadModel({ modelPath });
  } catch (err) {
    throw new RuntimeError('model_load_failed', `the GGUF file could not be loaded: ${messageOf(err)}`, 422);
  }
  try {
    const contextSize = resolveContextSize(config.context_size, model.trainContextSize);
    const threads = config.threads ?? defaultThreads(llama);
    const context = await model.createContext({ contextSize, sequences: config.parallel, threads });
    return { model, context, contextSize, threads };
  } catch (err) {
    await model.dispose();
    if (err instanceof RuntimeError) throw err;
    if (err instanceof InsufficientMemoryError) {
      throw new RuntimeError(
        'insufficient_memory',
        `not enough memory for the context; lower context_size or parallel: ${err.message}`,
        503,
      );
    }
    throw err;
  }
}

/**
 * Polar's own header check first: node-llama-cpp trusts the header's counts and lengths, and a
 * damaged file can make it spin forever instead of failing.
 */
async function checkGguf(modelPath: string): Promise<void> {
  try {
    await withFileSource(modelPath, validateGguf);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new RuntimeError(
        'model_file_missing',
        'the GGUF file is missing from the version directory',
        422,
      );
    }
    throw new RuntimeError('model_load_failed', `the GGUF file is not valid: ${messageOf(err)}`, 422);
  }
}

/**
 * Physical cores less one, at least one. llama.cpp's threads meet at a barrier after every operation,
 * so one descheduled thread stalls them all: on this project's 2-core machine under load, 2 threads
 * decoded the tiny model at 3 tokens/s against 750 with 1. The core left over keeps the host's event
 * loop, the server and other models responsive. Hyper-threads add nothing to matrix work.
 */
export function defaultThreads(llama: Llama): number {
  return Math.max(1, llama.cpuMathCores - 1);
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * The chat format from the model's own template: node-llama-cpp maps well-known templates to its
 * tuned wrappers and renders any other one with its Jinja engine. No template, no chat.
 */
export function chatWrapperOf(model: LlamaModel): ChatWrapper | null {
  if (typeof model.fileInfo.metadata.tokenizer?.chat_template !== 'string') return null;
  try {
    return resolveChatWrapper(model);
  } catch {
    return null; // a template its Jinja engine cannot render
  }
}
