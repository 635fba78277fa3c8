/**
 * One server under load, in its own process so the load generator does not share its event loop.
 * Usage: node --import tsx bench/target.ts bare|polar  (polar reads POLAR_BENCH_TARGET_DATABASE_URL,
 * POLAR_BENCH_TARGET_REDIS_URL, POLAR_BENCH_TARGET_REDIS_PREFIX and POLAR_BENCH_TARGET_HF_ENDPOINT).
 * Prints one JSON line `{ url, token }` on stdout when ready; exits on SIGTERM.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { loadConfig } from '../src/config.js';
import { startServer } from '../src/server.js';

const ADMIN_PASSWORD = 'bench-admin-password';
/** The highest value the security/auth section accepts: the limiter still runs, but never trips. */
const API_PER_MINUTE = 1_000_000;

interface Ready {
  url: string;
  token?: string;
  /** What the run had to work around, shown under the table. */
  note?: string;
}

async function bare(): Promise<{ ready: Ready; close: () => Promise<void> }> {
  const app = Fastify();
  app.get('/hello', async () => ({ hello: 'world' }));
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { ready: { url: `${url}/hello` }, close: () => app.close() };
}

async function call(url: string, method: string, token: string | null, body?: unknown): Promise<Response> {
  return fetch(url, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
}

async function polar(): Promise<{ ready: Ready; close: () => Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'polar-bench-'));
  const databaseUrl = process.env.POLAR_BENCH_TARGET_DATABASE_URL;
  const redisUrl = process.env.POLAR_BENCH_TARGET_REDIS_URL;
  const redisPrefix = process.env.POLAR_BENCH_TARGET_REDIS_PREFIX;
  const hfEndpoint = process.env.POLAR_BENCH_TARGET_HF_ENDPOINT;
  const config = loadConfig({
    POLAR_DATA_DIR: dataDir,
    POLAR_PORT: '0',
    POLAR_LOG_LEVEL: 'warn',
    POLAR_LOG_FILES: 'false',
    POLAR_ADMIN_PASSWORD: ADMIN_PASSWORD,
    ...(databaseUrl ? { POLAR_DATABASE_URL: databaseUrl } : {}),
    ...(redisUrl ? { POLAR_REDIS_URL: redisUrl } : {}),
    ...(redisPrefix ? { POLAR_REDIS_PREFIX: redisPrefix } : {}),
    ...(hfEndpoint ? { POLAR_HF_ENDPOINT: hfEndpoint } : {}),
  });
  const server = await startServer(config, {
    settingsOverrides: { 'security/auth': { api_per_minute: API_PER_MINUTE } },
  });
  const api = `${server.url}/api/v1`;
  const login = await call(`${api}/auth/login`, 'POST', null, {
    username: config.adminUsername,
    password: ADMIN_PASSWORD,
  });
  if (login.status !== 200) throw new Error(`login failed: ${login.status} ${await login.text()}`);
  const session = ((await login.json()) as { token: string }).token;

  // The settings service, when present, is the real way to change the limit; the seed above covers
  // a build without it.
  const put = await call(`${api}/settings/security/auth`, 'PUT', session, { api_per_minute: API_PER_MINUTE });
  const note = put.ok ? undefined : `rate limit raised through startServer settings (PUT ${put.status})`;

  const created = await call(`${api}/keys`, 'POST', session, { name: 'bench' });
  if (created.status !== 201)
    throw new Error(`key creation failed: ${created.status} ${await created.text()}`);
  const token = ((await created.json()) as { key: string }).key;

  const probe = await call(`${api}/auth/me`, 'GET', token);
  const limit = Number(probe.headers.get('x-ratelimit-limit'));
  if (probe.status !== 200) throw new Error(`GET /auth/me with the key answered ${probe.status}`);
  if (limit !== API_PER_MINUTE) throw new Error(`the API rate limit is ${limit}, not ${API_PER_MINUTE}`);

  return {
    ready: { url: `${api}/auth/me`, token, ...(note ? { note } : {}) },
    async close() {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

const kind = process.argv[2];
const started = kind === 'bare' ? await bare() : kind === 'polar' ? await polar() : null;
if (!started) {
  process.stderr.write('usage: target.ts bare|polar\n');
  process.exit(2);
}
process.stdout.write(`${JSON.stringify(started.ready)}\n`);
process.on('SIGTERM', () => {
  void started.close().finally(() => process.exit(0));
});
