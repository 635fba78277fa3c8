import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The real thing: the compiled `polar` (what `npm install` builds and `npx polar` runs) serving on
 * loopback, and the CLI run as separate processes against it, as a user would.
 */
const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin/polar.js');
const ADMIN_PASSWORD = 'e2e-admin-password';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

let tmp: string;
let server: ChildProcess | undefined;
let serverLog = '';
let url: string;

/** The environment without any POLAR_* of the machine running the tests, plus `extra`. */
function env(extra: Record<string, string>): NodeJS.ProcessEnv {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('POLAR_')));
  return { ...clean, NO_COLOR: '1', ...extra };
}

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

/** Runs the CLI to completion (bounded), feeding `input` on stdin. */
function polar(args: string[], opts: { input?: string; env?: Record<string, string> } = {}): Promise<Run> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
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
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('error', rej);
    child.on('close', (code) => {
      clearTimeout(timer);
      res({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

const json = (r: Run) => JSON.parse(r.stdout) as Record<string, unknown>;

beforeAll(async () => {
  if (!existsSync(join(ROOT, 'dist/cli/main.js')))
    throw new Error('Run `npm run build` first (npm test does)');
  tmp = mkdtempSync(join(tmpdir(), 'polar-e2e-cli-'));
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  server = spawn(process.execPath, [BIN, 'serve'], {
    cwd: ROOT,
    env: env({
      POLAR_HOST: '127.0.0.1',
      POLAR_PORT: String(port),
      POLAR_DATA_DIR: join(tmp, 'data'),
      POLAR_ADMIN_PASSWORD: ADMIN_PASSWORD,
      POLAR_LOG_FILES: 'false',
      POLAR_LOG_LEVEL: 'warn',
    }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server.stdout?.on('data', (d) => {
    serverLog += d;
  });
  server.stderr?.on('data', (d) => {
    serverLog += d;
  });
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
}, 60_000);

afterAll(async () => {
  if (server && server.exitCode === null) {
    const exited = new Promise((r) => server!.once('exit', r));
    server.kill('SIGTERM');
    const killer = setTimeout(() => server!.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(killer);
  }
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('polar CLI against a running node', () => {
  let keyId: string;
  let key: string;

  it('logs in with the password on stdin and saves a private credentials file', async () => {
    const r = await polar(['login', '--username', 'admin', '--password-stdin'], {
      input: `${ADMIN_PASSWORD}\n`,
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('as admin (admin)');
    expect(statSync(join(tmp, 'config/credentials.json')).mode & 0o777).toBe(0o600);

    const me = await polar(['whoami', '--json']);
    expect(me.code).toBe(0);
    expect(json(me)).toMatchObject({ user: { username: 'admin', role: 'admin' }, via: 'session' });
  });

  it('creates, lists and disables a user; a disabled user is locked out at once', async () => {
    const created = await polar(['users', 'create', 'bob', '--role', 'developer', '--password-stdin'], {
      input: 'bob-password-1\n',
    });
    expect(created.code).toBe(0);
    const ls = await polar(['users', 'ls', '--json']);
    expect((json(ls).items as { username: string }[]).map((u) => u.username)).toContain('bob');

    const bobConfig = { POLAR_CONFIG_DIR: join(tmp, 'bob') };
    const bobLogin = await polar(['login', '-u', 'bob', '--password-stdin'], {
      input: 'bob-password-1\n',
      env: bobConfig,
    });
    expect(bobLogin.code).toBe(0);

    expect((await polar(['users', 'disable', 'bob'])).code).toBe(0);
    const shown = await polar(['users', 'show', 'bob', '--json']);
    expect(json(shown)).toMatchObject({ username: 'bob', disabled: true });
    const bobAgain = await polar(['whoami'], { env: bobConfig });
    expect(bobAgain.code).toBe(3);
  });

  it('creates an API key that works as POLAR_TOKEN until it is revoked', async () => {
    const created = await polar([
      'keys',
      'create',
      'e2e',
      '--scopes',
      'profile,keys:read',
      '--expires-in-days',
      '7',
    ]);
    expect(created.code).toBe(0);
    key = created.stdout.trim();
    expect(key).toMatch(/^pk_\S+$/);
    expect(created.stderr).toMatch(/not be shown again/);

    const asKey = await polar(['whoami', '--json'], { env: { POLAR_TOKEN: key } });
    expect(asKey.code).toBe(0);
    const me = json(asKey);
    expect(me).toMatchObject({
      user: { username: 'admin' },
      via: 'key',
      permissions: ['keys:read', 'profile'],
    });
    keyId = me.key_id as string;

    const ls = await polar(['keys', 'ls', '--json']);
    const listed = (json(ls).items as { id: string; last4: string }[]).find((k) => k.id === keyId);
    expect(listed?.last4).toBe(key.slice(-4));
    expect(ls.stdout).not.toContain(key);

    expect((await polar(['keys', 'revoke', keyId])).code).toBe(0);
    const revoked = await polar(['whoami'], { env: { POLAR_TOKEN: key } });
    expect(revoked.code).toBe(3);
    expect(revoked.stderr).toMatch(/key_revoked/);
  });

  it('maps refusals and failures to exit codes', async () => {
    const missing = await polar(['users', 'show', 'nobody-here']);
    expect(missing.code).toBe(5);
    expect(missing.stderr).toMatch(/user_not_found, HTTP 404/);

    expect((await polar(['users', 'create', 'x'])).code).toBe(2);
    const closed = await freePort();
    const unreachable = await polar(['whoami', '--url', `http://127.0.0.1:${closed}`]);
    expect(unreachable.code).toBe(7);
    expect(unreachable.stderr).toMatch(/Cannot reach Polar/);
  });

  it('reads and changes settings', async () => {
    const before = await polar(['settings', 'get', 'security/auth', '--json']);
    expect(before.code).toBe(0);
    expect(json(before)).toMatchObject({ scope: 'security', section: 'auth' });

    const set = await polar(['settings', 'set', 'security/auth', 'api_per_minute=5000', '--json']);
    expect(set.code).toBe(0);
    expect(json(set)).toMatchObject({ values: { api_per_minute: 5000 } });

    const bad = await polar(['settings', 'set', 'security/auth', 'no_such_field=1']);
    expect(bad.code).toBe(2);
  });

  it('shows readiness and, for an admin, the system status', async () => {
    const r = await polar(['status', '--json']);
    expect(r.code).toBe(0);
    const s = json(r);
    expect(s.ready).toMatchObject({ status: 'ready' });
    expect(s.system_status).toMatchObject({ disk_usage: expect.any(Object) });
    const human = await polar(['status']);
    expect(human.stdout).toMatch(/ready:\s+yes/);
  });

  it('runs the same commands in `polar shell` from a script on stdin', async () => {
    const r = await polar(['shell'], { input: 'help\nusers ls\nhelp keys create\nexit\nwhoami\n' });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Commands:');
    expect(r.stdout).toMatch(/bob\s+developer\s+yes/);
    expect(r.stdout).toContain('--expires-in-days');
    // `exit` ends the session: the line after it is not run.
    expect(r.stdout).not.toContain('permissions:');

    const failing = await polar(['shell'], { input: 'users show nobody-here\n' });
    expect(failing.code).toBe(5);
  });

  it('logs out: the saved session ends and the file is gone', async () => {
    expect((await polar(['logout'])).code).toBe(0);
    expect(existsSync(join(tmp, 'config/credentials.json'))).toBe(false);
    expect((await polar(['whoami'])).code).toBe(3);
  });
});
