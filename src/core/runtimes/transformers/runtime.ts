/**
 * The transformers runtime: Hugging Face-layout ONNX text models (format hf-onnx: config.json,
 * tokenizer.json, tokenizer_config.json, onnx/model*.onnx) served by transformers.js over
 * onnxruntime-node, strictly from the version's directory.
 */
import { access, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  env,
  LogLevel,
  type PreTrainedModel,
  type PreTrainedTokenizer,
  pipeline,
} from '@huggingface/transformers';
import {
  type Capabilities,
  type LoadedModel,
  type LoadSpec,
  RuntimeError,
  type RuntimeModule,
} from '../types.js';
import { DTYPE_FILE_SUFFIX, type PipelineTask, parseLoadConfig, pipelineFor } from './config.js';
import { classifyTexts, embedTexts } from './encoders.js';
import { generateText } from './generate.js';

/**
 * Offline and read-only: no hub requests (fetch itself refuses), no cache directory (its default lies
 * inside node_modules), and quiet logs. Set on every load since `env` is process-wide.
 */
function configureEnvironment(): void {
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.useFSCache = false;
  env.useBrowserCache = false;
  env.useWasmCache = false;
  env.fetch = () => Promise.reject(new Error('the transformers runtime never uses the network'));
  env.logLevel = LogLevel.ERROR;
}

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));
const missing = (what: string) => new RuntimeError('model_file_missing', `this version has no ${what}`, 422);

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

async function readModelConfig(dir: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(join(dir, 'config.json'), 'utf8');
  } catch {
    throw missing('config.json');
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
      return parsed as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new RuntimeError('model_load_failed', 'config.json is not a JSON object', 422);
}

interface Pipe {
  model: PreTrainedModel;
  tokenizer: PreTrainedTokenizer;
  dispose(): Promise<void>;
}

function capabilitiesOf(task: PipelineTask, tokenizer: PreTrainedTokenizer, parallel: number): Capabilities {
  return {
    generate: task === 'text-generation',
    chat: task === 'text-generation' && Boolean(tokenizer.chat_template),
    embed: task === 'feature-extraction',
    predict: task === 'text-classification',
    // transformers.js 4 has no beam search (see generate.ts); such requests are refused.
    beamSearch: false,
    parallel,
  };
}

export const runtime: RuntimeModule = {
  async load(spec: LoadSpec): Promise<LoadedModel> {
    const config = parseLoadConfig(spec.config);
    // An absolute path is never mistaken for a hub repo id, so transformers.js reads it as is.
    const dir = resolve(spec.dir);
    const task = pipelineFor(spec.task, await readModelConfig(dir));
    const weights = `onnx/model${DTYPE_FILE_SUFFIX[config.dtype]}.onnx`;
    if (!(await exists(join(dir, weights)))) {
      if (config.dtype === 'fp32') throw missing(weights);
      throw new RuntimeError(
        'invalid_load_config',
        `invalid transformers load config: field "dtype": ${config.dtype} needs ${weights}, which this version does not have`,
        400,
      );
    }
    for (const file of ['tokenizer.json', 'tokenizer_config.json']) {
      if (!(await exists(join(dir, file)))) throw missing(file);
    }

    configureEnvironment();
    let pipe: Pipe;
    try {
      pipe = (await pipeline(task, dir, {
        dtype: config.dtype,
        device: 'cpu',
        local_files_only: true,
      })) as unknown as Pipe;
    } catch (err) {
      throw new RuntimeError(
        'model_load_failed',
        `transformers.js could not load this version: ${messageOf(err)}`,
        422,
      );
    }

    let open = true;
    const ensureOpen = () => {
      if (!open) throw new RuntimeError('model_unloaded', 'the model was unloaded', 503);
    };
    const { model, tokenizer } = pipe;
    const loaded: LoadedModel = {
      capabilities: capabilitiesOf(task, tokenizer, config.parallel),
      async unload() {
        if (!open) return;
        open = false;
        await pipe.dispose();
      },
    };
    if (task === 'text-generation') {
      loaded.generate = async function* (req, signal) {
        ensureOpen();
        yield* generateText({ model, tokenizer }, req, signal);
      };
    } else if (task === 'feature-extraction') {
      loaded.embed = async (inputs, signal) => {
        ensureOpen();
        return embedTexts({ model, tokenizer }, inputs, config, signal);
      };
    } else {
      loaded.predict = async (rows, signal) => {
        ensureOpen();
        return classifyTexts({ model, tokenizer }, rows, signal);
      };
    }
    return loaded;
  },
};
