/**
 * onnxruntime-node called directly, the way the onnx runtime calls it (same session options, one
 * float32 tensor [n, features], every output fetched and copied out), next to the same model served
 * through the onnx runtime's `predict` with JSON rows. The gap is what Polar's row handling costs.
 *
 * Standalone: `node --import tsx bench/onnx-direct.ts [--features 32] [--hidden 256] [--batch 1024] [--runs 2000]`
 * writes an MLP classifier to a temporary directory and prints both measurements as JSON.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { parseLoadConfig, sessionOptions } from '../src/core/runtimes/onnx/config.js';
import { runtime } from '../src/core/runtimes/onnx/runtime.js';
import { onnxMlpClassifier } from '../test/fixtures/models/onnx.js';

export interface OnnxBenchOptions {
  /** An .onnx model whose single input is float32 [batch, features]. */
  modelPath: string;
  /** Feature rows; the batch measurement sends all of them in one run. */
  rows: number[][];
  /** Single-row runs measured (after a tenth as many warm-up runs); batch runs are a tenth of it. */
  runs: number;
  /** Load config for the session, as the runtime takes it (threads, graph_optimization). */
  config?: Record<string, unknown>;
}

export interface OnnxBenchResult {
  single: { runs: number; p50Ms: number; p90Ms: number; p99Ms: number };
  batch: { rows: number; runs: number; msPerRun: number; rowsPerSecond: number };
}

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;

async function measure(
  runs: number,
  rows: number[][],
  once: (rows: number[][]) => Promise<unknown>,
): Promise<OnnxBenchResult> {
  const first = rows[0];
  if (!first) throw new Error('at least one row is needed');
  const warmup = Math.max(1, Math.floor(runs / 10));
  for (let i = 0; i < warmup; i++) await once([first]);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const row = rows[i % rows.length] as number[];
    const t0 = process.hrtime.bigint();
    await once([row]);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);

  const batchRuns = Math.max(1, Math.floor(runs / 10));
  await once(rows);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < batchRuns; i++) await once(rows);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return {
    single: { runs, p50Ms: quantile(times, 0.5), p90Ms: quantile(times, 0.9), p99Ms: quantile(times, 0.99) },
    batch: {
      rows: rows.length,
      runs: batchRuns,
      msPerRun: (seconds * 1000) / batchRuns,
      rowsPerSecond: (rows.length * batchRuns) / seconds,
    },
  };
}

export async function benchOnnxDirect(opts: OnnxBenchOptions): Promise<OnnxBenchResult> {
  const session = await InferenceSession.create(
    opts.modelPath,
    sessionOptions(parseLoadConfig(opts.config ?? {})),
  );
  const [input] = session.inputNames;
  const features = opts.rows[0]?.length ?? 0;
  if (!input || session.inputNames.length !== 1) throw new Error('the model must have exactly one input');
  try {
    return await measure(opts.runs, opts.rows, async (rows) => {
      const data = new Float32Array(rows.length * features);
      rows.forEach((row, r) => {
        data.set(row, r * features);
      });
      const out = await session.run({ [input]: new Tensor('float32', data, [rows.length, features]) }, [
        ...session.outputNames,
      ]);
      // The runtime copies every output into JSON values; copy here too so the comparison is fair.
      return Object.values(out).map((t) => Array.from(t.data as ArrayLike<unknown>));
    });
  } finally {
    await session.release();
  }
}

/** The same measurement through the onnx runtime's predict, rows as JSON feature arrays. */
export async function benchOnnxRuntime(opts: OnnxBenchOptions & { task?: string }): Promise<OnnxBenchResult> {
  const model = await runtime.load({
    dir: dirname(opts.modelPath),
    files: [{ path: basename(opts.modelPath), size: 0, format: 'onnx' }],
    format: 'onnx',
    task: opts.task ?? 'classification',
    config: { max_batch: Math.max(1024, opts.rows.length), ...opts.config },
  });
  const signal = new AbortController().signal;
  try {
    return await measure(opts.runs, opts.rows, (rows) =>
      (model.predict as NonNullable<typeof model.predict>)(
        rows as unknown as Record<string, unknown>[],
        signal,
      ),
    );
  } finally {
    await model.unload();
  }
}

async function main() {
  const { values } = parseArgs({
    options: {
      features: { type: 'string', default: '32' },
      hidden: { type: 'string', default: '256' },
      classes: { type: 'string', default: '8' },
      batch: { type: 'string', default: '1024' },
      runs: { type: 'string', default: '2000' },
      threads: { type: 'string' },
    },
  });
  const features = Number(values.features);
  const batch = Number(values.batch);
  const dir = await mkdtemp(join(tmpdir(), 'polar-onnx-bench-'));
  const modelPath = join(dir, 'model.onnx');
  await writeFile(
    modelPath,
    onnxMlpClassifier({ features, hidden: Number(values.hidden), classes: Number(values.classes) }),
  );
  const rows = Array.from({ length: batch }, (_, r) =>
    Array.from({ length: features }, (_, f) => Math.sin(r * 31 + f) * 2),
  );
  const config = values.threads ? { intra_op_threads: Number(values.threads) } : {};
  const opts = { modelPath, rows, runs: Number(values.runs), config };
  try {
    const direct = await benchOnnxDirect(opts);
    const viaRuntime = await benchOnnxRuntime(opts);
    process.stdout.write(`${JSON.stringify({ model: values, direct, viaRuntime }, null, 2)}\n`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) await main();
