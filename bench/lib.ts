import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { createInterface } from 'node:readline';
import pg from 'pg';

export interface BenchOptions {
  /** Seconds of measured load per case. */
  duration: number;
  /** Size of the file the import benchmark downloads, in MiB. */
  importMb: number;
}

/** One benchmark's answer: a table for people and the raw numbers for the JSON file. */
export interface Section {
  title: string;
  headers: string[];
  rows: string[][];
  notes: string[];
  data: unknown;
}

export interface Benchmark {
  name: string;
  run(opts: BenchOptions): Promise<Section>;
}

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';

export type BenchDatabase = { url: string; drop(): Promise<void> } | { skipped: string };

/** A fresh database on the bench PostgreSQL server, or why there is none. */
export async function createBenchDatabase(): Promise<BenchDatabase> {
  const serverUrl = process.env.POLAR_BENCH_DATABASE_URL ?? DEFAULT_DATABASE_URL;
  const name = `polar_bench_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const run = async (statement: string) => {
    const c = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: 3000 });
    await c.connect();
    try {
      await c.query(statement);
    } finally {
      await c.end();
    }
  };
  try {
    await run(`CREATE DATABASE ${name}`);
  } catch (err) {
    return { skipped: `PostgreSQL unreachable at ${redact(serverUrl)}: ${(err as Error).message}` };
  }
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  return { url: u.toString(), drop: () => run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

function redact(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** The bench Redis URL (or `fallback`) if it answers PING within a second, else why not. */
export async function benchRedis(fallback?: string): Promise<{ url: string } | { skipped: string }> {
  const url = process.env.POLAR_BENCH_REDIS_URL ?? fallback ?? DEFAULT_REDIS_URL;
  const u = new URL(url);
  const answer = await new Promise<string>((resolve) => {
    const socket = connect({ host: u.hostname, port: Number(u.port || 6379) });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve('no answer within 1 s');
    }, 1000);
    socket.once('error', (err) => {
      clearTimeout(timer);
      resolve(err.message);
    });
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (d) => {
      clearTimeout(timer);
      socket.end();
      resolve(d.toString().trim());
    });
  });
  return answer === '+PONG' ? { url } : { skipped: `Redis unreachable at ${redact(url)}: ${answer}` };
}

/** CPU seconds (user + system) a process has used so far, from /proc; NaN where /proc is missing. */
export function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th overall.
    const rest = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(rest[11]) + Number(rest[12])) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}
/** USER_HZ, 100 on every Linux port Node runs on. */
const CLOCK_TICKS = 100;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** Reads the first stdout line a child prints, which bench children use to say they are ready. */
export function firstLine(child: ChildProcess, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    if (!child.stdout) return reject(new Error('child has no stdout'));
    const rl = createInterface({ input: child.stdout });
    const timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    rl.once('line', (line) => {
      clearTimeout(timer);
      rl.close();
      resolve(line);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`child exited with ${code} before it was ready`));
    });
  });
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves with how long the exit took. */
export async function stop(child: ChildProcess, graceMs = 10_000): Promise<number> {
  const t = performance.now();
  if (child.exitCode !== null || child.signalCode !== null) return 0;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
  return performance.now() - t;
}

/** Spawns node with stdout piped (children report readiness there); stderr shown or captured. */
export function spawnNode(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  stderr: 'inherit' | 'pipe' = 'inherit',
): ChildProcess {
  return spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', stderr] });
}

const TARGET = new URL('./target.ts', import.meta.url).pathname;

/** What bench/target.ts prints when its server is ready. */
export interface TargetReady {
  url: string;
  token?: string;
  /** What the run had to work around, shown under the table. */
  note?: string;
}

/** Runs `fn` against a bench/target.ts server in its own process, stopped afterwards whatever happens. */
export async function withTarget<T>(
  kind: 'bare' | 'polar',
  env: NodeJS.ProcessEnv,
  fn: (ready: TargetReady, pid: number | undefined) => Promise<T>,
): Promise<T> {
  // POLAR_BENCH_CPU_PROF=<dir> writes a V8 CPU profile of the server process there when it exits.
  const prof = process.env.POLAR_BENCH_CPU_PROF;
  const flags = prof ? ['--cpu-prof', '--cpu-prof-dir', prof] : [];
  const child = spawnNode([...flags, '--import', 'tsx', TARGET, kind], { ...process.env, ...env });
  try {
    const ready = JSON.parse(await firstLine(child, 120_000)) as TargetReady;
    return await fn(ready, child.pid);
  } finally {
    await stop(child);
  }
}

export const fmt = {
  int: (n: number) => Math.round(n).toLocaleString('en-US'),
  ms: (n: number) => (n >= 100 ? Math.round(n).toString() : n.toFixed(n >= 10 ? 1 : 2)),
  mb: (bytes: number) => `${Math.round(bytes / 1048576)}`,
};

export function markdownTable(headers: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}
