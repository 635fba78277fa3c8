import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * The real thing: the compiled `polar` (what `npm install` builds and `npx polar` runs) serving on
 * loopback, and the CLI run as separate processes against it, as a user would.
 */
export const ROOT = resolve(import.meta.dirname, '../..');
export const BIN = join(ROOT, 'bin/polar.js');
export const ADMIN_PASSWORD = 'e2e-admin-password';

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  input?: string;
  env?: Record<string, string>;
  /** Working directory of the CLI process (default: the repository root). */
  cwd?: string;
  /** SIGKILL after this long (default 15 s). */
  timeoutMs?: number;
}

export interface PolarNode {
  /** A private temp directory: the node's data under data/, the CLI's config under config/. */
  tmp: string;
  url: string;
  /** Everything the server printed so far. */
  log(): string;
  /** Runs the CLI to completion (bounded) against this node, feeding `input` on stdin. */
  polar(args: string[], opts?: RunOptions): Promise<Run>;
  /** SIGTERM (SIGKILL after 5 s), then removes the temp directory. */
  stop(): Promise<void>;
}

/** The environment without any POLAR_* of the machine running the tests, plus `extra`. */
export function env(extra: Record<string, string>): NodeJS.ProcessEnv {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('POLAR_')));
  return { ...clean, NO_COLOR: '1', ...extra };
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

export const json = (r: Run) => JSON.parse(r.stdout) as Record<string, unknown>;

function run(url: string, tmp: string, args: string[], opts: RunOptions = {}): Promise<Run> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: opts.cwd ?? ROOT,
      env: env({ POLAR_URL: url, POLAR_CONFIG_DIR: join(tmp, 'config'), ...opts.env }),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 15_000);
    child.on('error', rej);
    child.on('close', (code) => {
      clearTimeout(timer);
      res({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

async function stopServer(server: ChildProcess): Promise<void> {
  if (server.exitCode !== null || server.signalCode !== null) return;
  const exited = new Promise((r) => server.once('exit', r));
  server.kill('SIGTERM');
  const killer = setTimeout(() => server.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(killer);
}

/**
 * Starts `polar serve` on a free loopback port with a fresh data directory and waits (at most
 * 40 s) until it is ready. `extraEnv` is added to the server's environment.
 */
export async function startPolar(prefix: string, extraEnv: Record<string, string> = {}): Promise<PolarNode> {
  if (!existsSync(join(ROOT, 'dist/cli/main.js')))
    throw new Error('Run `npm run build` first (npm test does)');
  const tmp = mkdtempSync(join(tmpdir(), prefix));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let serverLog = '';
  const server = spawn(process.execPath, [BIN, 'serve'], {
    cwd: ROOT,
    env: env({
      POLAR_HOST: '127.0.0.1',
      POLAR_PORT: String(port),
      POLAR_DATA_DIR: join(tmp, 'data'),
      POLAR_ADMIN_PASSWORD: ADMIN_PASSWORD,
      POLAR_LOG_FILES: 'false',
      POLAR_LOG_LEVEL: 'warn',
      ...extraEnv,
    }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server.stdout?.on('data', (d) => {
    serverLog += d;
  });
  server.stderr?.on('data', (d) => {
    serverLog += d;
  });
  const node: PolarNode = {
    tmp,
    url,
    log: () => serverLog,
    polar: (args, opts) => run(url, tmp, args, opts),
    stop: async () => {
      await stopServer(server);
      rmSync(tmp, { recursive: true, force: true });
    },
  };
  try {
    const deadline = Date.now() + 40_000;
    for (;;) {
      if (server.exitCode !== null) throw new Error(`polar serve exited early:\n${serverLog}`);
      const ready = await fetch(`${url}/health/ready`).then(
        (r) => r.ok,
        () => false,
      );
      if (ready) break;
      if (Date.now() > deadline) throw new Error(`polar serve not ready within 40 s:\n${serverLog}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (err) {
    await node.stop();
    throw err;
  }
  return node;
}
