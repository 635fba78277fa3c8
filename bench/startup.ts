import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Benchmark, createBenchDatabase, fmt, freePort, type Section, spawnNode, stop } from './lib.js';

const ROOT = new URL('..', import.meta.url).pathname;
const BIN = join(ROOT, 'bin', 'polar.js');
/** Idle memory is read this long after ready, once start-up garbage had a chance to be collected. */
const SETTLE_MS = 3000;
const READY_TIMEOUT_MS = 60_000;
const POLL_MS = 10;

interface StartMeasure {
  case: string;
  ready_ms: number;
  ready_probe: string;
  idle_rss_bytes: number;
  peak_rss_bytes: number;
  stop_ms: number;
}

/** The bench measures what `npm run build` ships, so it builds first; type errors do not block emit. */
function build(notes: string[]) {
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], { encoding: 'utf8' });
  if (r.status !== 0) notes.push('the build reported type errors; measured what it emitted');
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) throw new Error(`build failed:\n${r.stdout}`);
  const template = join(ROOT, 'dist', 'platform', 'db', 'pglite-template.js');
  const t = spawnSync(process.execPath, [template], { encoding: 'utf8' });
  if (t.status !== 0) throw new Error(`building the PGlite template failed:\n${t.stderr}`);
}

function procStatus(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : Number.NaN;
}

/**
 * Polls until the node is ready: /health/ready answering 200, or, on a build without that route, the
 * API answering 401 to an anonymous request (routes registered and listening).
 */
async function untilReady(base: string, exited: () => boolean): Promise<string> {
  const deadline = performance.now() + READY_TIMEOUT_MS;
  let probe = '/health/ready';
  while (performance.now() < deadline) {
    if (exited()) throw new Error('polar serve exited before it was ready');
    try {
      const res = await fetch(`${base}${probe}`);
      await res.arrayBuffer();
      if (probe === '/health/ready' && res.status === 200) return probe;
      // A missing route answers 401 to anonymous callers (deny by default) or 404.
      if (probe === '/health/ready' && (res.status === 404 || res.status === 401)) probe = '/api/v1/auth/me';
      else if (probe === '/api/v1/auth/me' && res.status === 401) return `${probe} (401)`;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  throw new Error(`not ready within ${READY_TIMEOUT_MS} ms`);
}

async function startOnce(name: string, env: Record<string, string>): Promise<StartMeasure> {
  const port = await freePort();
  // Only the variables set here reach the node, so a POLAR_* in the caller's shell cannot skew it.
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('POLAR_')));
  const t = performance.now();
  const child = spawnNode(
    [BIN, 'serve'],
    { ...clean, POLAR_HOST: '127.0.0.1', POLAR_PORT: String(port), ...env },
    'pipe',
  );
  // Kept out of the report (it holds the generated admin password) but shown if the start fails.
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  try {
    const probe = await untilReady(`http://127.0.0.1:${port}`, () => child.exitCode !== null).catch(
      (err: Error) => {
        throw new Error(`${name}: ${err.message}\n${output}`);
      },
    );
    const ready = performance.now() - t;
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const pid = child.pid!;
    const idle = procStatus(pid, 'VmRSS');
    const peak = procStatus(pid, 'VmHWM');
    return {
      case: name,
      ready_ms: ready,
      ready_probe: probe,
      idle_rss_bytes: idle,
      peak_rss_bytes: peak,
      stop_ms: await stop(child),
    };
  } finally {
    await stop(child);
  }
}

/** Start-up times on a shared machine swing by a second; the median of a few runs is reported. */
const EMBEDDED_RUNS = 3;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};

interface Row {
  case: string;
  runs: StartMeasure[];
}

export const startup: Benchmark = {
  name: 'startup',
  async run(): Promise<Section> {
    const notes: string[] = [];
    build(notes);
    const first: Row = { case: 'embedded, first start (fresh data dir)', runs: [] };
    const second: Row = { case: 'embedded, second start (existing data dir)', runs: [] };
    const rows: Row[] = [first, second];
    for (let i = 0; i < EMBEDDED_RUNS; i++) {
      const dataDir = mkdtempSync(join(tmpdir(), 'polar-bench-start-'));
      try {
        const env = { POLAR_DATA_DIR: dataDir };
        first.runs.push(await startOnce(first.case, env));
        second.runs.push(await startOnce(second.case, env));
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    }
    const pgDb = await createBenchDatabase();
    if ('skipped' in pgDb) {
      notes.push(`PostgreSQL row skipped: ${pgDb.skipped}`);
    } else {
      const pgDir = mkdtempSync(join(tmpdir(), 'polar-bench-start-'));
      const row: Row = { case: 'PostgreSQL, first start (fresh database, 1 run)', runs: [] };
      try {
        const env = { POLAR_DATA_DIR: pgDir, POLAR_DATABASE_URL: pgDb.url };
        row.runs.push(await startOnce(row.case, env));
        rows.push(row);
      } finally {
        rmSync(pgDir, { recursive: true, force: true });
        await pgDb.drop();
      }
    }
    notes.push(
      `\`node bin/polar.js serve\` spawned; ready = spawn to first good probe (polled every ${POLL_MS} ms), median of ${EMBEDDED_RUNS} runs (range in brackets); idle RSS = VmRSS ${SETTLE_MS / 1000} s after ready; peak = VmHWM. Goals: ≤ 2000 ms, ≤ 200 MB on the embedded default.`,
    );
    const range = (xs: number[], f: (n: number) => string) =>
      xs.length > 1
        ? `${f(median(xs))} [${f(Math.min(...xs))}–${f(Math.max(...xs))}]`
        : f(xs[0] ?? Number.NaN);
    return {
      title: 'Start-up and idle memory of polar serve',
      headers: ['case', 'ready ms', 'idle RSS MB', 'peak RSS MB', 'stop ms', 'probe'],
      rows: rows.map((r) => [
        r.case,
        range(
          r.runs.map((m) => m.ready_ms),
          fmt.int,
        ),
        range(
          r.runs.map((m) => m.idle_rss_bytes),
          fmt.mb,
        ),
        fmt.mb(median(r.runs.map((m) => m.peak_rss_bytes))),
        fmt.int(median(r.runs.map((m) => m.stop_ms))),
        r.runs[0]?.ready_probe ?? '',
      ]),
      notes,
      data: { settle_ms: SETTLE_MS, rows },
    };
  },
};
