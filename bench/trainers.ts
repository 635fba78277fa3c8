/**
 * Forge's trainers next to scikit-learn on the same generated data in the same run: histogram
 * gradient boosting (classifier on a nonlinear 20-feature set, regressor on a smooth function) and
 * logistic regression. Fit times are the best of `repeats` (wall and CPU); scores are on held-out
 * rows. The data are written to CSV once (cached under the temp dir) so Python reads the very numbers
 * Node used. scikit-learn runs from /usr/bin/python3 twice: limited to one thread (OMP_NUM_THREADS=1,
 * like Forge's single-threaded trainer) and with its default threads; without sklearn its columns say
 * so.
 *
 * Standalone: `node --import tsx bench/trainers.ts [--rows 100000] [--features 20] [--repeats 3]
 * [--no-threaded]` prints the table and the raw numbers as JSON.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { accuracy, r2 } from '../src/forge/pipelines/metrics.js';
import { logisticRegression } from '../src/forge/pipelines/models/linear/logistic.js';
import { gbdtClassifier, gbdtRegressor } from '../src/forge/pipelines/models/trees/gbdt-steps.js';
import {
  nonlinearClassification,
  recordingContext,
  type Synthetic,
  smoothRegression,
  splitAt,
} from '../src/forge/pipelines/models/trees/synthetic.js';
import type { ModelStep, Target } from '../src/forge/pipelines/types.js';
import { markdownTable, type Section } from './lib.js';

export interface TrainersOptions {
  /** Training rows per data set (a further fifth is held out for the score). */
  rows?: number;
  features?: number;
  /** Fits per model and tool; the best time counts. */
  repeats?: number;
  /** Also run scikit-learn with its default threads (slow and noisy on a busy machine). */
  threaded?: boolean;
  python?: string;
}

/** The shared configuration, spelled for both tools; early stopping off so both grow 100 rounds. */
const GBDT = {
  n_estimators: 100,
  learning_rate: 0.1,
  max_depth: 6,
  max_leaf_nodes: 31,
  min_samples_leaf: 20,
  l2_regularization: 0,
  max_bins: 255,
  early_stopping: false,
};

interface Timing {
  wall: number;
  cpu: number;
  score: number;
}

interface Row {
  model: string;
  data: string;
  metric: 'accuracy' | 'R²';
  polar: Timing | null;
  sklearn1: Timing | null;
  sklearnThreads: Timing | null;
}

/** Train and held-out rows (a fifth more), generated from a fixed seed. */
function dataSet(
  kind: 'classification' | 'regression',
  rows: number,
  features: number,
): [Synthetic, Synthetic] {
  const n = rows + Math.round(rows / 5);
  const s =
    kind === 'classification'
      ? nonlinearClassification({ n, features, seed: 42, noise: 0.5 })
      : smoothRegression({ n, features, seed: 43, noise: 0.5 });
  return splitAt(s, rows);
}

function toCsv(s: Synthetic): string {
  const cols = s.frame.columns.map((c) => c.values as Float64Array);
  const lines = [[...s.frame.columns.map((c) => c.name), 'y'].join(',')];
  // String(x) is the shortest text that reads back as the same double, in Python too.
  for (let i = 0; i < s.y.length; i++)
    lines.push([...cols.map((c) => String(c[i])), String(s.y[i])].join(','));
  return `${lines.join('\n')}\n`;
}

/** The CSV paths for a data set, written unless a previous run left them. */
function csvFiles(name: string, parts: [Synthetic, Synthetic], rows: number, features: number) {
  const dir = join(tmpdir(), 'polar-bench-trainers');
  mkdirSync(dir, { recursive: true });
  return (['train', 'test'] as const).map((part, k) => {
    const path = join(dir, `${name}-${rows}x${features}-${part}.csv`);
    if (!existsSync(path)) {
      writeFileSync(`${path}.tmp`, toCsv(parts[k]!));
      renameSync(`${path}.tmp`, path);
    }
    return path;
  }) as [string, string];
}

async function timeFit<C, P>(
  step: ModelStep<C, P>,
  train: Synthetic,
  test: Synthetic,
  target: Target,
  config: C,
  score: (y: Float64Array, pred: Float64Array) => number,
  repeats: number,
): Promise<Timing> {
  let best: Timing | null = null;
  let cpuBest = Number.POSITIVE_INFINITY;
  for (let r = 0; r < repeats; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const params = await step.fit(train.frame, target, config, recordingContext(r).ctx);
    const wall = (performance.now() - t0) / 1000;
    const used = process.cpuUsage(c0);
    cpuBest = Math.min(cpuBest, (used.user + used.system) / 1e6);
    const s = score(test.y, step.predict(test.frame, params).values);
    if (!best || wall < best.wall) best = { wall, cpu: cpuBest, score: s };
  }
  best!.cpu = cpuBest;
  return best!;
}

const SKLEARN = `
import json, sys, time, numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.linear_model import LogisticRegression
a = json.loads(sys.argv[1])
load = lambda p: np.loadtxt(p, delimiter=',', skiprows=1)
g = a['gbdt']
hgb = dict(max_iter=g['n_estimators'], learning_rate=g['learning_rate'], max_depth=g['max_depth'],
           max_leaf_nodes=g['max_leaf_nodes'], min_samples_leaf=g['min_samples_leaf'],
           l2_regularization=g['l2_regularization'], max_bins=g['max_bins'], early_stopping=False, random_state=0)
out = {}
for name, make, files, score in [
    ('gbdt_classifier', lambda: HistGradientBoostingClassifier(**hgb), a['cls'], 'acc'),
    ('gbdt_regressor', lambda: HistGradientBoostingRegressor(**hgb), a['reg'], 'r2'),
    ('logistic_regression', lambda: LogisticRegression(max_iter=200), a['cls'], 'acc')]:
    tr, te = load(files[0]), load(files[1])
    X, y, Xt, yt = tr[:, :-1], tr[:, -1], te[:, :-1], te[:, -1]
    best = None
    for r in range(a['repeats']):
        c0, t0 = time.process_time(), time.perf_counter()
        m = make().fit(X, y)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        s = float((m.predict(Xt) == yt).mean()) if score == 'acc' else float(m.score(Xt, yt))
        if best is None or wall < best['wall']: best = dict(wall=wall, cpu=min(cpu, best['cpu'] if best else cpu), score=s)
        else: best['cpu'] = min(best['cpu'], cpu)
    out[name] = best
print(json.dumps(out))
`;

/** scikit-learn's timings, or why there are none. */
function sklearn(
  python: string,
  args: object,
  threads: number | null,
): Record<string, Timing> | { skipped: string } {
  const probe = spawnSync(python, ['-c', 'import sklearn; print(sklearn.__version__)'], { encoding: 'utf8' });
  if (probe.status !== 0) return { skipped: `${python} has no scikit-learn` };
  const env = { ...process.env, ...(threads ? { OMP_NUM_THREADS: String(threads) } : {}) };
  const run = spawnSync(python, ['-c', SKLEARN, JSON.stringify(args)], {
    encoding: 'utf8',
    env,
    maxBuffer: 1 << 20,
  });
  if (run.status !== 0) return { skipped: `scikit-learn failed: ${run.stderr.trim().split('\n').at(-1)}` };
  return JSON.parse(run.stdout.trim().split('\n').at(-1)!) as Record<string, Timing>;
}

const secs = (t: Timing | null) => (t ? `${t.wall.toFixed(2)} / ${t.cpu.toFixed(2)}` : '–');
const score = (t: Timing | null) => (t ? t.score.toFixed(4) : '–');

export async function benchTrainers(opts: TrainersOptions = {}): Promise<Section> {
  const rows = opts.rows ?? 100_000;
  const features = opts.features ?? 20;
  const repeats = opts.repeats ?? 3;
  const python = opts.python ?? '/usr/bin/python3';
  const load = loadavg().map((n) => n.toFixed(2));
  const binary = (s: Synthetic): Target => ({ task: 'classification', values: s.y, labels: ['0', '1'] });
  const row = (model: string, data: string, metric: Row['metric'], polar: Timing): Row => ({
    model,
    data: `${rows}×${features} ${data}`,
    metric,
    polar,
    sklearn1: null,
    sklearnThreads: null,
  });
  // One data set in memory at a time, as a training process would hold it.
  let cls: [Synthetic, Synthetic] | null = dataSet('classification', rows, features);
  const gbdtCls = await timeFit(
    gbdtClassifier,
    cls[0],
    cls[1],
    binary(cls[0]),
    gbdtClassifier.config.parse(GBDT),
    accuracy,
    repeats,
  );
  const logistic = await timeFit(
    logisticRegression,
    cls[0],
    cls[1],
    binary(cls[0]),
    logisticRegression.config.parse({}),
    accuracy,
    repeats,
  );
  const clsFiles = csvFiles('classification', cls, rows, features);
  cls = null;
  let reg: [Synthetic, Synthetic] | null = dataSet('regression', rows, features);
  const regTarget: Target = { task: 'regression', values: reg[0].y };
  const gbdtReg = await timeFit(
    gbdtRegressor,
    reg[0],
    reg[1],
    regTarget,
    gbdtRegressor.config.parse(GBDT),
    r2,
    repeats,
  );
  const regFiles = csvFiles('regression', reg, rows, features);
  reg = null;
  const results: Row[] = [
    row('gbdt_classifier', 'nonlinear', 'accuracy', gbdtCls),
    row('gbdt_regressor', 'smooth', 'R²', gbdtReg),
    row('logistic_regression', 'nonlinear', 'accuracy', logistic),
  ];
  const args = { gbdt: GBDT, repeats, cls: clsFiles, reg: regFiles };
  const notes = [
    `Times are wall / CPU seconds, best of ${repeats}; scores on ${Math.round(rows / 5)} held-out rows. Load average at start ${load.join(' / ')} on a shared machine: compare columns of the same run, not runs.`,
    'Boosting on both sides: 100 rounds, learning rate 0.1, max_depth 6, max_leaf_nodes 31, min_samples_leaf 20, 255 bins, no early stopping. Logistic regression: C = 1, L-BFGS (scikit-learn max_iter 200).',
    "Forge trains on one thread. scikit-learn's default-threads column is one fit per model: its OpenMP threads spin while they wait, so on a loaded machine that run can be far slower than its single-threaded one.",
  ];
  const one = sklearn(python, args, 1);
  // One threaded fit per model: on a busy machine each can take a minute of spinning threads.
  const many =
    opts.threaded === false
      ? { skipped: 'not run (--no-threaded)' }
      : sklearn(python, { ...args, repeats: 1 }, null);
  for (const [key, got] of [
    ['sklearn1', one],
    ['sklearnThreads', many],
  ] as const) {
    if ('skipped' in got)
      notes.push(`scikit-learn (${key === 'sklearn1' ? 'one thread' : 'default threads'}): ${got.skipped}`);
    else for (const r of results) r[key] = (got as Record<string, Timing>)[r.model] ?? null;
  }
  return {
    title: 'Trainers: Forge vs scikit-learn 1.2',
    headers: [
      'model',
      'data',
      'metric',
      'Polar fit s (wall / cpu)',
      'Polar score',
      'sklearn 1 thread fit s',
      'sklearn all threads fit s',
      'sklearn score',
      'Polar / sklearn 1 thread (cpu)',
    ],
    rows: results.map((r) => [
      r.model,
      r.data,
      r.metric,
      secs(r.polar),
      score(r.polar),
      secs(r.sklearn1),
      secs(r.sklearnThreads),
      score(r.sklearn1 ?? r.sklearnThreads),
      r.polar && r.sklearn1 ? `${(r.polar.cpu / r.sklearn1.cpu).toFixed(2)}×` : '–',
    ]),
    notes,
    data: { rows, features, repeats, loadavg: load, results },
  };
}

/** For bench/run.ts: `{ name, run }`. */
export const trainers = { name: 'trainers', run: () => benchTrainers() };

async function main() {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string', default: '100000' },
      features: { type: 'string', default: '20' },
      repeats: { type: 'string', default: '3' },
      'no-threaded': { type: 'boolean', default: false },
    },
  });
  const section = await benchTrainers({
    rows: Number(values.rows),
    features: Number(values.features),
    repeats: Number(values.repeats),
    threaded: !values['no-threaded'],
  });
  const table = markdownTable(section.headers, section.rows);
  process.stdout.write(
    `## ${section.title}\n\n${table}\n\n${section.notes.map((n) => `- ${n}`).join('\n')}\n\n`,
  );
  process.stdout.write(`${JSON.stringify(section.data, null, 2)}\n`);
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) await main();
