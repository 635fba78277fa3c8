/**
 * What serving costs over calling the engines directly, on the same model files in the same run:
 * (a) a llama GGUF through POST /v1/chat/completions, streamed as `polar chat` reads it, against
 *     node-llama-cpp called directly with the runtime's own plan (bench/llama-direct.ts);
 * (b) an ONNX MLP through POST /api/v1/models/{id}/predict and predict_batch, against onnxruntime-node
 *     called directly and the onnx runtime in-process (bench/onnx-direct.ts).
 * The node is a real `polar serve` in its own process (bench/target.ts); each loaded model runs in its
 * own host process below it, as in production.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient } from '../src/cli/client.js';
import { streamChat } from '../src/cli/commands/chat-stream.js';
import { writeTinyLlama } from '../test/fixtures/models/gguf.js';
import { onnxMlpClassifier } from '../test/fixtures/models/onnx.js';
import { type Benchmark, fmt, type Section, withTarget } from './lib.js';
import { benchLlamaDirect, type LlamaDirectRun } from './llama-direct.js';
import { benchOnnxDirect, benchOnnxRuntime, type OnnxBenchResult } from './onnx-direct.js';

/**
 * Two sizes: a small one where a token takes a few milliseconds (what serving adds per token shows
 * most), and one where it takes tens, like a real model on this machine. One thread on both sides:
 * on a loaded machine llama.cpp's spinning thread barrier makes two threads many times slower than
 * one, which would measure the neighbours instead of Polar.
 */
const LLAMAS = [
  { name: 'bench-llama-s', width: 256, layers: 4, heads: 8 },
  { name: 'bench-llama-m', width: 512, layers: 8, heads: 8 },
];
const LLAMA_CONFIG = { threads: 1 };
const PROMPT = 'Write a short story about a lighthouse keeper.';
const MAX_TOKENS = 128;
/** Direct and HTTP runs alternate in rounds, so a burst of load from elsewhere hits both sides. */
const ROUNDS = 3;
const RUNS_PER_ROUND = 3;

const MLP = { features: 32, hidden: 256, classes: 8 };
const BATCH_ROWS = 1024;
const ONNX_CONFIG = { intra_op_threads: 1 };
const ONNX_DIRECT_RUNS = 2000;
const HTTP_SINGLE_RUNS = 1000;
const HTTP_BATCH_RUNS = 20;

const TTFT_GOAL_MS = 5;
const RATIO_GOAL = 0.95;

interface HttpRun {
  ttft_ms: number;
  total_ms: number;
  completion_tokens: number;
  decode_tokens_per_s: number;
  tokens_per_s: number;
}

const median = (values: number[]) => {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;

/** Registers a model, uploads one file as its version and loads it with `config`; keeps it loaded. */
async function deploy(client: ApiClient, name: string, task: string, file: string, config: object) {
  await client.post('/api/v1/models', { name, task });
  const form = new FormData();
  form.append('file', new Blob([readFileSync(file)]), file.split('/').pop()!);
  await client.raw('POST', `/api/v1/models/${name}/versions`, { body: form, timeoutMs: 300_000 });
  const loaded = await client.raw('POST', `/api/v1/models/${name}/load`, {
    body: JSON.stringify({ config, keep_alive: -1 }),
    headers: { 'content-type': 'application/json' },
    timeoutMs: 300_000,
  });
  return (await loaded.json()) as { memory_bytes: number; runtime: string };
}

/** One streamed chat request, measured exactly as `polar chat` measures it. */
async function httpChat(client: ApiClient, model: string): Promise<HttpRun> {
  const r = await streamChat(
    client,
    {
      model,
      messages: [{ role: 'user', content: PROMPT }],
      temperature: 0,
      max_tokens: MAX_TOKENS,
    },
    { signal: new AbortController().signal, onText: () => {} },
  );
  const tokens = r.usage?.completion_tokens ?? r.timings.tokens;
  return {
    ttft_ms: r.timings.ttftMs ?? Number.NaN,
    total_ms: r.timings.totalMs,
    completion_tokens: tokens,
    decode_tokens_per_s: r.timings.tokensPerSecond ?? Number.NaN,
    tokens_per_s: (tokens * 1000) / r.timings.totalMs,
  };
}

async function llamaCase(client: ApiClient, model: string, modelPath: string) {
  const direct: LlamaDirectRun[] = [];
  const http: HttpRun[] = [];
  await httpChat(client, model); // warm-up: the host's first request allocates its sequence state
  let directInfo: { load_ms: number; context_size: number; threads: number } | undefined;
  for (let round = 0; round < ROUNDS; round++) {
    const d = await benchLlamaDirect({
      modelPath,
      prompt: PROMPT,
      maxTokens: MAX_TOKENS,
      runs: RUNS_PER_ROUND,
      chat: true,
      config: LLAMA_CONFIG,
      parameters: { temperature: 0 },
      warmup: 1,
    });
    directInfo ??= { load_ms: d.load_ms, context_size: d.context_size, threads: d.threads };
    direct.push(...d.runs);
    for (let i = 0; i < RUNS_PER_ROUND; i++) http.push(await httpChat(client, model));
  }
  const med = <T>(runs: T[], key: keyof T) => median(runs.map((r) => r[key] as number));
  return {
    direct: {
      ...directInfo,
      ttft_ms: med(direct, 'ttft_ms'),
      decode_tokens_per_s: med(direct, 'decode_tokens_per_s'),
      tokens_per_s: med(direct, 'tokens_per_s'),
      completion_tokens: [...new Set(direct.map((r) => r.completion_tokens))],
      runs: direct,
    },
    http: {
      ttft_ms: med(http, 'ttft_ms'),
      decode_tokens_per_s: med(http, 'decode_tokens_per_s'),
      tokens_per_s: med(http, 'tokens_per_s'),
      completion_tokens: [...new Set(http.map((r) => r.completion_tokens))],
      runs: http,
    },
  };
}

async function post(url: string, token: string, body: string): Promise<unknown> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body,
  });
  const answer = await res.json();
  if (!res.ok) throw new Error(`POST ${url} answered ${res.status}: ${JSON.stringify(answer)}`);
  return answer;
}

/** predict (one row, sequential requests) and predict_batch (BATCH_ROWS rows) over HTTP. */
async function onnxHttp(base: string, token: string, rows: number[][]): Promise<OnnxBenchResult> {
  const model = `${base}/api/v1/models/bench-mlp`;
  const one = (i: number) => JSON.stringify({ input: { x: rows[i % rows.length] } });
  for (let i = 0; i < HTTP_SINGLE_RUNS / 10; i++) await post(`${model}/predict`, token, one(i));
  const times: number[] = [];
  for (let i = 0; i < HTTP_SINGLE_RUNS; i++) {
    const t0 = performance.now();
    await post(`${model}/predict`, token, one(i));
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const batch = JSON.stringify({ rows: rows.map((x) => ({ x })) });
  const answer = (await post(`${model}/predict_batch`, token, batch)) as { count: number };
  if (answer.count !== rows.length) throw new Error(`predict_batch answered ${answer.count} predictions`);
  const t0 = performance.now();
  for (let i = 0; i < HTTP_BATCH_RUNS; i++) await post(`${model}/predict_batch`, token, batch);
  const seconds = (performance.now() - t0) / 1000;
  return {
    single: {
      runs: HTTP_SINGLE_RUNS,
      p50Ms: quantile(times, 0.5),
      p90Ms: quantile(times, 0.9),
      p99Ms: quantile(times, 0.99),
    },
    batch: {
      rows: rows.length,
      runs: HTTP_BATCH_RUNS,
      msPerRun: (seconds * 1000) / HTTP_BATCH_RUNS,
      rowsPerSecond: (rows.length * HTTP_BATCH_RUNS) / seconds,
    },
  };
}

const met = (ok: boolean) => (ok ? 'met' : 'NOT met');
const f1 = (n: number) => n.toFixed(1);
const signed = (n: number) => `${n >= 0 ? '+' : ''}${fmt.ms(n)}`;

type LlamaResult = Awaited<ReturnType<typeof llamaCase>> & { name: string; bytes: number; memory: number };

/** Decode rate, time to first token and what serving adds per token, for one model size. */
function llamaRows(l: LlamaResult): string[][] {
  const label = `llama ${l.name} (${fmt.mb(l.bytes)} MB F32), ${MAX_TOKENS} tokens`;
  const ratio = l.http.decode_tokens_per_s / l.direct.decode_tokens_per_s;
  const extraTtft = l.http.ttft_ms - l.direct.ttft_ms;
  const perToken = 1000 / l.http.decode_tokens_per_s - 1000 / l.direct.decode_tokens_per_s;
  return [
    [
      label,
      'decode tokens/s (median)',
      f1(l.direct.decode_tokens_per_s),
      '-',
      f1(l.http.decode_tokens_per_s),
      `× ${ratio.toFixed(3)} (${signed(perToken)} ms/token)`,
      `≥ ${RATIO_GOAL}: ${met(ratio >= RATIO_GOAL)}`,
    ],
    [
      label,
      'time to first token ms (median)',
      fmt.ms(l.direct.ttft_ms),
      '-',
      fmt.ms(l.http.ttft_ms),
      `${signed(extraTtft)} ms`,
      `≤ +${TTFT_GOAL_MS} ms: ${met(extraTtft <= TTFT_GOAL_MS)}`,
    ],
    [
      label,
      'tokens/s over the whole request',
      f1(l.direct.tokens_per_s),
      '-',
      f1(l.http.tokens_per_s),
      `× ${(l.http.tokens_per_s / l.direct.tokens_per_s).toFixed(3)}`,
      '-',
    ],
  ];
}

function onnxRows(direct: OnnxBenchResult, runtime: OnnxBenchResult, http: OnnxBenchResult): string[][] {
  const label = `onnx MLP ${MLP.features}→${MLP.hidden}→${MLP.classes}`;
  return [
    [
      label,
      'predict 1 row p50 ms',
      fmt.ms(direct.single.p50Ms),
      fmt.ms(runtime.single.p50Ms),
      fmt.ms(http.single.p50Ms),
      `${signed(http.single.p50Ms - direct.single.p50Ms)} ms`,
      '-',
    ],
    [
      label,
      `predict_batch rows/s (${BATCH_ROWS} rows)`,
      fmt.int(direct.batch.rowsPerSecond),
      fmt.int(runtime.batch.rowsPerSecond),
      fmt.int(http.batch.rowsPerSecond),
      `× ${(http.batch.rowsPerSecond / direct.batch.rowsPerSecond).toFixed(3)}`,
      '-',
    ],
  ];
}

/** The HTTP floor under every request: a round trip through auth to the cheapest authenticated route. */
async function roundTripP50(base: string, token: string): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 220; i++) {
    const t0 = performance.now();
    await (await fetch(`${base}/api/v1/auth/me`, { headers: { authorization: `Bearer ${token}` } })).text();
    if (i >= 20) times.push(performance.now() - t0);
  }
  return median(times);
}

export const serving: Benchmark = {
  name: 'serving',
  async run(): Promise<Section> {
    const dir = mkdtempSync(join(tmpdir(), 'polar-bench-serving-'));
    const ggufs = LLAMAS.map((m) => ({ ...m, file: writeTinyLlama(m) }));
    const onnxPath = join(dir, 'mlp.onnx');
    writeFileSync(onnxPath, onnxMlpClassifier(MLP));
    const rows = Array.from({ length: BATCH_ROWS }, (_, r) =>
      Array.from({ length: MLP.features }, (_, f) => Math.sin(r * 31 + f) * 2),
    );
    try {
      return await withTarget('polar', {}, async (ready) => {
        const base = ready.url.replace(/\/api\/v1\/auth\/me$/, '');
        const token = ready.token!;
        const client = new ApiClient({ baseUrl: base, token });
        const llamas: LlamaResult[] = [];
        for (const m of ggufs) {
          const path = join(m.file.dir, m.file.path);
          const loaded = await deploy(client, m.name, 'chat', path, LLAMA_CONFIG);
          const r = await llamaCase(client, m.name, path);
          llamas.push({
            ...r,
            name: `${m.layers}×${m.width}`,
            bytes: m.file.size,
            memory: loaded.memory_bytes,
          });
          // Unloaded before the next size so two idle hosts do not share the cores with the measurement.
          await client.post(`/api/v1/models/${m.name}/unload`, {});
        }
        const onnxLoad = await deploy(client, 'bench-mlp', 'classification', onnxPath, ONNX_CONFIG);
        const onnxOpts = { modelPath: onnxPath, rows, runs: ONNX_DIRECT_RUNS, config: ONNX_CONFIG };
        const onnxDirect = await benchOnnxDirect(onnxOpts);
        const onnxRuntime = await benchOnnxRuntime(onnxOpts);
        const onnxOverHttp = await onnxHttp(base, token, rows);
        const floor = await roundTripP50(base, token);

        const first = llamas[0]!;
        const notes = [
          `llama: the test fixture's random llama GGUF (F32, ChatML) at two sizes, greedy (temperature 0), ${MAX_TOKENS} tokens asked; generated per run: ${llamas.map((l) => `${l.name} direct ${l.direct.completion_tokens.join('/')}, HTTP ${l.http.completion_tokens.join('/')}`).join('; ')}`,
          `llama: threads ${first.direct.threads}, context ${first.direct.context_size} on both sides; ${ROUNDS} rounds of ${RUNS_PER_ROUND} direct then ${RUNS_PER_ROUND} HTTP runs per size, medians of all runs; host memory once loaded: ${llamas.map((l) => `${l.name} ${fmt.mb(l.memory)} MB`).join(', ')}`,
          'llama direct: node-llama-cpp in the bench process through the runtime plan (prompt planned once, outside the timing); HTTP: POST /v1/chat/completions with stream and include_usage, timed by the client `polar chat` uses (first text chunk; decode rate = tokens after the first / time from first to last chunk)',
          `onnx: direct = onnxruntime-node session.run on a float32 tensor; runtime = the onnx runtime's predict in-process; HTTP = JSON rows {"x": [...]} to the loaded model (its own host process), one request at a time on a kept-alive connection; intra-op threads 1 everywhere; ${HTTP_SINGLE_RUNS} single-row and ${HTTP_BATCH_RUNS} batch requests over HTTP, ${ONNX_DIRECT_RUNS} / ${ONNX_DIRECT_RUNS / 10} direct; host memory ${fmt.mb(onnxLoad.memory_bytes)} MB`,
          `HTTP floor: GET /api/v1/auth/me with the same API key, p50 ${fmt.ms(floor)} ms`,
        ];
        return {
          title: 'Serving overhead: HTTP vs the engines called directly',
          headers: [
            'case',
            'metric',
            'direct',
            'runtime in-process',
            'HTTP (polar serve)',
            'HTTP vs direct',
            'goal',
          ],
          rows: [...llamas.flatMap(llamaRows), ...onnxRows(onnxDirect, onnxRuntime, onnxOverHttp)],
          notes,
          data: {
            llama: llamas.map((l) => ({
              ...l,
              config: LLAMA_CONFIG,
              max_tokens: MAX_TOKENS,
              ratio: l.http.decode_tokens_per_s / l.direct.decode_tokens_per_s,
              extra_ttft_ms: l.http.ttft_ms - l.direct.ttft_ms,
            })),
            onnx: {
              model: MLP,
              config: ONNX_CONFIG,
              direct: onnxDirect,
              runtime: onnxRuntime,
              http: onnxOverHttp,
            },
            http_floor_p50_ms: floor,
          },
        };
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
      for (const m of ggufs) rmSync(m.file.dir, { recursive: true, force: true });
    }
  },
};
