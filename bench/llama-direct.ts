/**
 * node-llama-cpp called directly, with exactly the llama runtime's settings (load config defaults,
 * context, threads, sampling mapping, one cleared sequence per request), so a later benchmark can put
 * the HTTP path next to it and see what serving adds. Not wired into `npm run bench` yet; run alone:
 * `node --import tsx bench/llama-direct.ts [model.gguf] [--chat] [--threads N] [--max-tokens N] [--runs N]`
 * (without a path: the tiny test llama).
 */
import { rmSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { parseLoadConfig } from '../src/core/runtimes/llama/config.js';
import { chatWrapperOf, openModel, sharedLlama } from '../src/core/runtimes/llama/engine.js';
import { planGeneration, runGeneration } from '../src/core/runtimes/llama/plan.js';
import type { GenerateRequest, GenerationParameters } from '../src/core/runtimes/types.js';
import { writeTinyLlama } from '../test/fixtures/models/gguf.js';

export interface LlamaDirectOptions {
  modelPath: string;
  prompt: string;
  /** max_length of every run; a run may end earlier at an end token or stop string. */
  maxTokens: number;
  runs: number;
  /** Send the prompt as one user message through the model's chat template instead of raw text. */
  chat?: boolean;
  /** The llama runtime's load config (context_size, threads, parallel, ...). */
  config?: Record<string, unknown>;
  /** Overrides of Polar's default generation parameters. */
  parameters?: Partial<GenerationParameters>;
  /** Unmeasured runs first, so one-off allocations do not count. */
  warmup?: number;
}

export interface LlamaDirectRun {
  ttft_ms: number;
  total_ms: number;
  prompt_tokens: number;
  completion_tokens: number;
  /** Generated tokens after the first, per second of decoding after the first token. */
  decode_tokens_per_s: number;
  /** Generated tokens per second of the whole request, prompt included. */
  tokens_per_s: number;
}

export interface LlamaDirectResult {
  /** getLlama: loading the native binding, once per process. */
  binding_ms: number;
  /** Everything the runtime's load does: header check, model load, context, chat template. */
  load_ms: number;
  /** Of which node-llama-cpp matching the chat template to its known formats (synchronous). */
  chat_template_ms: number;
  context_size: number;
  threads: number;
  runs: LlamaDirectRun[];
  /** Longest event-loop stall during the measured runs: native evaluation should leave the loop free. */
  event_loop_max_ms: number;
  median: Omit<LlamaDirectRun, 'prompt_tokens' | 'completion_tokens'>;
}

/** Polar's default generation parameters (DESIGN §5), seeded so runs are comparable. */
const DEFAULTS: GenerationParameters = {
  temperature: 1,
  top_k: 50,
  top_p: 0.9,
  max_length: 100,
  repetition_penalty: 1,
  do_sample: true,
  num_beams: 1,
  length_penalty: 1,
  early_stopping: false,
  seed: 42,
};

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export async function benchLlamaDirect(opts: LlamaDirectOptions): Promise<LlamaDirectResult> {
  const config = parseLoadConfig(opts.config ?? {});
  let t = performance.now();
  await sharedLlama();
  const binding_ms = performance.now() - t;
  t = performance.now();
  const { model, context, contextSize, threads } = await openModel(opts.modelPath, config);
  const open_ms = performance.now() - t;
  t = performance.now();
  const chatWrapper = chatWrapperOf(model);
  const chat_template_ms = performance.now() - t;
  try {
    const sequence = context.getSequence();
    const target = { model, chatWrapper, contextSize };
    const parameters = { ...DEFAULTS, ...opts.parameters, max_length: opts.maxTokens };
    const input: GenerateRequest['input'] = opts.chat
      ? { kind: 'chat', messages: [{ role: 'user', content: opts.prompt }] }
      : { kind: 'completion', prompt: opts.prompt };
    // The runtime's own planning: parameter mapping, prompt count, answer capped to the context.
    const plan = planGeneration(target, { input, parameters });
    const never = new AbortController().signal;
    const once = async (): Promise<LlamaDirectRun> => {
      const before = sequence.tokenMeter.usedOutputTokens;
      let first = 0;
      const onToken = () => {
        first ||= performance.now();
      };
      const start = performance.now();
      await runGeneration(sequence, target, plan, never, { onTextChunk: () => {}, onToken });
      const end = performance.now();
      const completion_tokens = sequence.tokenMeter.usedOutputTokens - before;
      await sequence.clearHistory();
      const decodeMs = end - (first || end);
      return {
        ttft_ms: (first || end) - start,
        total_ms: end - start,
        prompt_tokens: plan.promptTokens,
        completion_tokens,
        decode_tokens_per_s: decodeMs > 0 ? ((completion_tokens - 1) * 1000) / decodeMs : 0,
        tokens_per_s: (completion_tokens * 1000) / (end - start),
      };
    };
    for (let i = 0; i < (opts.warmup ?? 1); i++) await once();
    const runs: LlamaDirectRun[] = [];
    const loop = monitorEventLoopDelay({ resolution: 5 });
    loop.enable();
    for (let i = 0; i < opts.runs; i++) runs.push(await once());
    loop.disable();
    const pick = (k: keyof LlamaDirectRun) => median(runs.map((r) => r[k]));
    return {
      binding_ms,
      load_ms: open_ms + chat_template_ms,
      chat_template_ms,
      context_size: contextSize,
      threads,
      runs,
      event_loop_max_ms: loop.max / 1e6,
      median: {
        ttft_ms: pick('ttft_ms'),
        total_ms: pick('total_ms'),
        decode_tokens_per_s: pick('decode_tokens_per_s'),
        tokens_per_s: pick('tokens_per_s'),
      },
    };
  } finally {
    await context.dispose();
    await model.dispose();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      chat: { type: 'boolean', default: false },
      threads: { type: 'string' },
      'max-tokens': { type: 'string', default: '128' },
      runs: { type: 'string', default: '5' },
    },
  });
  const given = positionals[0];
  const tiny = given ? undefined : writeTinyLlama();
  const modelPath = given ?? `${tiny!.dir}/${tiny!.path}`;
  try {
    const result = await benchLlamaDirect({
      modelPath,
      prompt: 'Write a short story about a lighthouse keeper.',
      maxTokens: Number(values['max-tokens']),
      runs: Number(values.runs),
      chat: values.chat,
      config: values.threads ? { threads: Number(values.threads) } : {},
    });
    const { runs, ...summary } = result;
    const label = { model: given ?? 'tiny test llama', mode: values.chat ? 'chat' : 'completion' };
    process.stdout.write(`${JSON.stringify({ ...label, ...summary }, null, 2)}\n`);
  } finally {
    if (tiny) rmSync(tiny.dir, { recursive: true, force: true });
  }
}
