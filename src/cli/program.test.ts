import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { problem, scriptedCli } from '../../test/helpers/scripted-api.js';
import { readCredentials, saveCredentials } from './credentials.js';
import { runCli } from './program.js';
import { historyPath, loadHistory, saveHistory } from './shell/history.js';

/** A recorded request and a scripted answer: the commands are checked against the API contract. */
interface Call {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  authorization: string | null;
}
type Handler = (call: Call) => { status?: number; body?: unknown };

const URL_ = 'http://node.test:8000';
let dir: string;
let calls: Call[];
let out: string[];
let err: string[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'polar-cli-'));
  calls = [];
  out = [];
  err = [];
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function context(handler: Handler, answers: string[] = [], env: { url?: string; token?: string } = {}) {
  const s = scriptedCli(
    (c) => {
      const call: Call = {
        method: c.method,
        path: c.path,
        query: c.query,
        body: c.body,
        authorization: c.headers.get('authorization'),
      };
      calls.push(call);
      return handler(call);
    },
    { answers, configDir: dir },
  );
  out = s.out;
  err = s.err;
  s.ctx.config = { ...s.ctx.config, url: env.url ?? URL_, token: env.token };
  return s.ctx;
}

const user = {
  id: 'u1234567890a',
  username: 'bob',
  role: 'user',
  disabled: false,
  must_change_password: false,
};
const page = (items: unknown[]) => ({ items, next_cursor: null });

describe('request shapes', () => {
  it('settings set sends one partial object with typed values to the section', async () => {
    const ctx = context(() => ({ body: { scope: 'security', section: 'auth', values: {}, version: 2 } }));
    const code = await runCli(
      [
        'settings',
        'set',
        'security/auth',
        'login_per_minute=20',
        'note=hello',
        'x=null',
        '--if-version',
        '1',
      ],
      ctx,
    );
    expect(code).toBe(0);
    expect(calls).toEqual([
      expect.objectContaining({
        method: 'PUT',
        path: '/api/v1/settings/security/auth',
        query: { version: '1' },
        body: { login_per_minute: 20, note: 'hello', x: null },
      }),
    ]);
  });

  it('keys create sends scopes and expiry, prints the key alone on stdout and warns on stderr', async () => {
    const ctx = context(() => ({
      status: 201,
      body: { id: 'k1', key: 'pk_secret', name: 'ci', scopes: ['profile'], expires_at: null, last4: 'cret' },
    }));
    const code = await runCli(
      ['keys', 'create', 'ci', '--scopes', 'profile,keys:read', '--expires-in-days', '30'],
      ctx,
    );
    expect(code).toBe(0);
    expect(calls[0]).toMatchObject({
      method: 'POST',
      path: '/api/v1/keys',
      body: { name: 'ci', scopes: ['profile', 'keys:read'], expires_in_days: 30 },
    });
    expect(out).toEqual(['pk_secret']);
    expect(err.join('\n')).toMatch(/not be shown again/);
  });

  it('users ls passes filters as query parameters and --json prints the answer as-is', async () => {
    const answer = { items: [user], next_cursor: 'abc' };
    const ctx = context(() => ({ body: answer }));
    expect(await runCli(['users', 'ls', '--role', 'user', '--limit', '5', '--json'], ctx)).toBe(0);
    expect(calls[0]).toMatchObject({ path: '/api/v1/users', query: { role: 'user', limit: '5' } });
    expect(JSON.parse(out.join('\n'))).toEqual(answer);
  });

  it('finds users by name when the id is unknown', async () => {
    const ctx = context((c) => {
      if (c.method === 'GET' && c.path === '/api/v1/users/bob') return problem(404, 'user_not_found');
      if (c.method === 'GET' && c.path === '/api/v1/users') return { body: page([user]) };
      return { body: { ...user, disabled: true } };
    });
    expect(await runCli(['users', 'disable', 'bob'], ctx)).toBe(0);
    expect(calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      'GET /api/v1/users/bob',
      'GET /api/v1/users',
      `PATCH /api/v1/users/${user.id}`,
    ]);
    expect(calls[2]!.body).toEqual({ disabled: true });
  });

  it('reads a new user password from input and never sends a role that was not asked', async () => {
    const ctx = context(() => ({ status: 201, body: user }), ['password-1']);
    expect(await runCli(['users', 'create', 'bob', '--password-stdin'], ctx)).toBe(0);
    expect(calls[0]!.body).toEqual({ username: 'bob', password: 'password-1', role: 'user' });
  });

  it('admin purge-logs maps its flags to the seed field names', async () => {
    const ctx = context(() => ({ body: { status: 'success', space_freed: 2048 } }));
    await runCli(['admin', 'purge-logs', '--older-than-days', '7', '--levels', 'debug,info'], ctx);
    expect(calls[0]!.body).toEqual({ older_than_days: 7, log_levels: ['debug', 'info'] });
    expect(out.join('\n')).toMatch(/space freed:\s+2\.0 KB/);
  });
});

describe('exit codes', () => {
  it.each([
    [401, 'unauthorized', 3],
    [403, 'forbidden', 4],
    [404, 'user_not_found', 5],
    [409, 'username_taken', 6],
    [429, 'rate_limited', 8],
    [400, 'validation_error', 2],
    [500, 'internal_error', 1],
  ])('HTTP %i → exit %i with the detail and code on stderr', async (status, code, exit) => {
    const ctx = context(() => problem(status, code, 'It went wrong'));
    expect(await runCli(['whoami'], ctx)).toBe(exit);
    expect(err.join('\n')).toContain(`It went wrong (${code}, HTTP ${status})`);
    expect(out).toEqual([]);
  });

  it('7 when nothing answers', async () => {
    const ctx = context(() => ({}));
    ctx.fetch = (async () => {
      throw new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } });
    }) as typeof fetch;
    expect(await runCli(['status'], ctx)).toBe(7);
    expect(err.join('\n')).toMatch(/Cannot reach Polar at http:\/\/node\.test:8000: ECONNREFUSED/);
  });

  it('2 for usage errors, before any request', async () => {
    const ctx = context(() => ({}));
    for (const args of [
      ['users', 'bogus'],
      ['users', 'ls', '--limit', 'many'],
      ['users', 'ls', '--role', 'king'],
      ['settings', 'set', 'security/auth'],
      ['settings', 'set', 'security', 'a=1'],
      ['settings', 'set', 'security/auth', 'novalue'],
      ['users', 'create', 'bob'],
      ['users', 'delete', 'bob'],
      ['login', '--username', 'admin'],
      ['--url', 'ftp://x', 'whoami'],
    ]) {
      const handlerCalls = calls.length;
      const code = await runCli(args, ctx);
      expect(code, args.join(' ')).toBe(2);
      // users delete looks the user up first; everything else fails before the network.
      if (args[1] !== 'delete') expect(calls.length, args.join(' ')).toBe(handlerCalls);
    }
  });

  it('0 for --help and --version', async () => {
    const ctx = context(() => ({}));
    expect(await runCli(['--help'], ctx)).toBe(0);
    expect(out.join('\n')).toMatch(/Exit codes:[\s\S]*7 {2}server unreachable/);
    expect(await runCli(['--version'], ctx)).toBe(0);
    expect(await runCli(['users', 'ls', '--help'], ctx)).toBe(0);
  });

  it('1 when the node answers but is not ready', async () => {
    const ctx = context((c) =>
      c.path === '/health/ready'
        ? problem(503, 'not_ready', 'Migrations pending')
        : problem(401, 'unauthorized'),
    );
    expect(await runCli(['status'], ctx)).toBe(1);
    expect(out.join('\n')).toMatch(/ready:\s+NO/);
    expect(out.join('\n')).toMatch(/reason:\s+Migrations pending/);
  });
});

describe('credentials', () => {
  it('login saves the session 0600 and keeps the token off stdout', async () => {
    const ctx = context(
      () => ({ body: { token: 'ps_tok', expires_at: '2030-01-01T00:00:00Z', csrf_token: 'c', user } }),
      ['secret-password'],
    );
    expect(await runCli(['login', '-u', 'bob', '--password-stdin', '--json'], ctx)).toBe(0);
    expect(calls[0]).toMatchObject({
      path: '/api/v1/auth/login',
      body: { username: 'bob', password: 'secret-password' },
      authorization: null,
    });
    expect(out.join('\n')).not.toContain('ps_tok');
    const file = join(dir, 'credentials.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({
      url: URL_,
      token: 'ps_tok',
      username: 'bob',
    });
  });

  it('sends the saved token only to the node that issued it; flags and env override it', async () => {
    await saveCredentials(dir, { url: URL_, token: 'ps_saved', username: 'bob' });
    const ctx = context(() => ({ body: { user, permissions: [], via: 'session', key_id: null } }));
    await runCli(['whoami'], ctx);
    await runCli(['--url', 'http://other.test', 'whoami'], ctx);
    await runCli(['--token', 'pk_flag', 'whoami'], ctx);
    expect(calls.map((c) => c.authorization)).toEqual(['Bearer ps_saved', null, 'Bearer pk_flag']);
    const envCtx = context(() => ({ body: { user, permissions: [], via: 'key', key_id: 'k' } }), [], {
      token: 'pk_env',
    });
    await runCli(['whoami'], envCtx);
    expect(calls[3]!.authorization).toBe('Bearer pk_env');
  });

  it('logout ends the session on the node and removes the file', async () => {
    await saveCredentials(dir, { url: URL_, token: 'ps_saved', username: 'bob' });
    const ctx = context(() => ({ status: 204 }));
    expect(await runCli(['logout'], ctx)).toBe(0);
    expect(calls[0]).toMatchObject({
      method: 'POST',
      path: '/api/v1/auth/logout',
      authorization: 'Bearer ps_saved',
    });
    expect(await readCredentials(dir)).toBeNull();
  });
});

describe('shell history file', () => {
  it('is private, bounded and read back newest first', () => {
    const file = historyPath(join(dir, 'nested'));
    saveHistory(file, ['c', 'b', 'a'], 2);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toBe('b\nc\n');
    expect(loadHistory(file)).toEqual(['c', 'b']);
    expect(loadHistory(join(dir, 'missing'))).toEqual([]);
  });
});

describe('the polar command', () => {
  it('is what `npm start` runs, and `npm install` / `npm test` build it first', () => {
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8'));
    // `npx polar serve` runs bin.polar with `serve`: the same as `npm start`.
    expect(pkg.scripts.start).toBe(`node ${pkg.bin.polar} serve`);
    expect(pkg.scripts.prepare).toMatch(/npm run build/);
    expect(pkg.scripts.pretest).toMatch(/npm run build/);
  });
});
