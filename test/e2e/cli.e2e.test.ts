import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, freePort, json, type PolarNode, type RunOptions, startPolar } from './helpers.js';

/**
 * The real thing: the compiled `polar` (what `npm install` builds and `npx polar` runs) serving on
 * loopback, and the CLI run as separate processes against it, as a user would.
 */
let node: PolarNode | undefined;
let tmp: string;

const polar = (args: string[], opts?: RunOptions) => node!.polar(args, opts);

beforeAll(async () => {
  node = await startPolar('polar-e2e-cli-');
  tmp = node.tmp;
}, 60_000);

afterAll(async () => {
  await node?.stop();
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
