import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import pino from 'pino';
import { type AppDeps, buildApp } from '../../src/app.js';
import { type Config, loadConfig } from '../../src/config.js';
import type { Role } from '../../src/hub/auth/permissions.js';
import type { Database } from '../../src/platform/db/client.js';
import { testDatabase } from './db.js';

export const ADMIN_PASSWORD = 'admin-password-1';

export interface TestUser {
  id: string;
  username: string;
  password: string;
  role: Role;
  token: string;
}

export interface TestApp {
  app: FastifyInstance;
  database: Database;
  config: Config;
  dataDir: string;
  /** Every log line the app wrote (JSON strings), to check that secrets never appear. */
  logs: string[];
  admin: TestUser;
  /** Creates a user with the role and signs them in. */
  user(role: Role, name?: string): Promise<TestUser>;
  login(username: string, password: string): Promise<string>;
  /** inject() with a bearer token. */
  as(token: string | null, opts: InjectOptions): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

let seq = 0;

export async function createTestApp(
  opts: { env?: Record<string, string>; deps?: Partial<AppDeps>; config?: Partial<Config> } = {},
): Promise<TestApp> {
  const dataDir = mkdtempSync(join(tmpdir(), 'polar-app-'));
  const config = loadConfig({ POLAR_DATA_DIR: dataDir, POLAR_LOG_FILES: 'false', ...opts.env }, opts.config);
  const database = await testDatabase();
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  const logger = pino({ level: 'info' }, sink);
  const app = await buildApp(config, {
    database,
    logger,
    masterKey: randomBytes(32),
    settingsOverrides: { 'security/auth': { login_per_minute: 10_000 } },
    ...opts.deps,
  });
  await app.ready();
  await app.services.auth.bootstrapAdmin({ username: 'admin', password: ADMIN_PASSWORD });

  const as: TestApp['as'] = (token, o) =>
    app.inject({
      ...o,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(o.headers ?? {}) },
    });

  const login = async (username: string, password: string) => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username, password },
    });
    if (res.statusCode !== 200)
      throw new Error(
        `login ${username} failed: ${res.statusCode} ${res.body} ${logs.filter((l) => l.includes('"level":50')).join('\n')}`,
      );
    return res.json().token as string;
  };

  const adminToken = await login('admin', ADMIN_PASSWORD);
  const me = (await as(adminToken, { method: 'GET', url: '/api/v1/auth/me' })).json();
  const admin: TestUser = {
    id: me.user.id,
    username: 'admin',
    password: ADMIN_PASSWORD,
    role: 'admin',
    token: adminToken,
  };

  const user = async (role: Role, name?: string): Promise<TestUser> => {
    const username = name ?? `${role}${++seq}${Math.random().toString(36).slice(2, 6)}`;
    const password = `pw-${username}-123`;
    const res = await as(adminToken, {
      method: 'POST',
      url: '/api/v1/users',
      payload: { username, password, role },
    });
    if (res.statusCode !== 201) throw new Error(`create user failed: ${res.statusCode} ${res.body}`);
    const token = await login(username, password);
    return { id: res.json().id, username, password, role, token };
  };

  return {
    app,
    database,
    config,
    dataDir,
    logs,
    admin,
    user,
    login,
    as,
    async close() {
      await app.close();
      await database.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
