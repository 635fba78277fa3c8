import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, BIN, env, freePort, ROOT } from './helpers.js';

/**
 * Durability with real processes: `polar serve` is killed with SIGKILL while a training job runs,
 * then started again on the same data directory. The job's lease expires, it runs again and
 * registers exactly one model version, which then answers /predict.
 */
const dataDir = mkdtempSync(join(tmpdir(), 'polar-e2e-training-'));
let server: ChildProcess | undefined;
let url = '';
let token = '';

afterAll(async () => {
  if (server && server.exitCode === null && server.signalCode === null) {
    const exited = new Promise((r) => server?.once('exit', r));
    server.kill('SIGTERM');
    await exited;
  }
  rmSync(dataDir, { recursive: true, force: true });
});

async function startNode(): Promise<ChildProcess> {
  if (!existsSync(join(ROOT, 'dist/cli/main.js')))
    throw new Error('Run `npm run build` first (npm test does)');
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  let log = '';
  const child = spawn(process.execPath, [BIN, 'serve'], {
    cwd: ROOT,
    env: env({
      POLAR_HOST: '127.0.0.1',
      POLAR_PORT: String(port),
      POLAR_DATA_DIR: dataDir,
      POLAR_ADMIN_PASSWORD: ADMIN_PASSWORD,
      POLAR_LOG_FILES: 'false',
      POLAR_LOG_LEVEL: 'warn',
    }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d) => {
    log += d;
  });
  child.stderr?.on('data', (d) => {
    log += d;
  });
  const deadline = Date.now() + 40_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`polar serve exited early:\n${log}`);
    if (
      await fetch(`${url}/health/ready`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return child;
    if (Date.now() > deadline) throw new Error(`polar serve not ready within 40 s:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The fields this test reads from answers. */
interface Answer {
  token: string;
  id: string;
  job_id: string;
  state: string;
  items: { message: string }[];
  versions: unknown[];
  predictions: unknown[];
  probabilities: unknown[];
  [k: string]: unknown;
}

async function api(method: string, path: string, body?: unknown | FormData) {
  const res = await fetch(`${url}/api/v1${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined && !(body instanceof FormData) ? { 'content-type': 'application/json' } : {}),
    },
    body: body === undefined ? undefined : body instanceof FormData ? body : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Answer };
}

function csv(n: number): string {
  const lines = ['a,b,color,label'];
  for (let i = 0; i < n; i++) {
    const a = ((i * 7919) % 1000) / 100 - 5;
    const b = ((i * 104_729) % 1000) / 100 - 5;
    const color = ['red', 'green', 'blue'][i % 3];
    lines.push(`${a},${b},${color},${a + b > (color === 'red' ? -1 : 1) ? 'churn' : 'stay'}`);
  }
  return `${lines.join('\n')}\n`;
}

const childrenOf = (pid: number): number[] => {
  try {
    return execFileSync('pgrep', ['-P', String(pid), '-f', 'workers/child'], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
};
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('training survives kill -9 of the node', () => {
  it('re-queues the running job after its lease expires and registers it once', async () => {
    server = await startNode();
    const login = await api('POST', '/auth/login', { username: 'admin', password: ADMIN_PASSWORD });
    expect(login.status).toBe(200);
    token = login.json.token;
    const settings = await api('PUT', '/settings/forge/workers', {
      lease_seconds: 2,
      heartbeat_seconds: 1,
      backoff_base_seconds: 1,
    });
    expect(settings.status).toBe(200);
    const form = new FormData();
    form.append('name', 'churn-e2e');
    form.append('file', new Blob([csv(30_000)]), 'churn.csv');
    const upload = await api('POST', '/datasets', form);
    expect(upload.status, JSON.stringify(upload.json)).toBe(201);
    const dispatched = await api('POST', '/training/dispatch', {
      name: 'churn-gbdt',
      dataset_id: upload.json.id,
      dataset_version: 1,
      target: 'label',
      task: 'classification',
      steps: [
        { type: 'impute', config: { strategy: 'median' } },
        { type: 'one_hot', config: { columns: ['color'] } },
        { type: 'standard_scaler' },
        { type: 'gbdt_classifier', config: { n_estimators: 300, max_depth: 6, learning_rate: 0.1 } },
      ],
      evaluation: { test_size: 0.2, seed: 42 },
      register_as: 'churn',
    });
    expect(dispatched.status, JSON.stringify(dispatched.json)).toBe(202);
    const id = dispatched.json.job_id as string;

    // Kill the node while its trainer runs.
    let trainers: number[] = [];
    for (const until = Date.now() + 30_000; trainers.length === 0; ) {
      const job = await api('GET', `/training/${id}`);
      expect(job.json.state, JSON.stringify(job.json)).not.toMatch(/succeeded|failed/);
      if (job.json.state === 'running') trainers = childrenOf(server.pid as number);
      if (Date.now() > until) throw new Error('the job never ran');
      await new Promise((r) => setTimeout(r, 50));
    }
    const exited = new Promise((r) => server?.once('exit', r));
    server.kill('SIGKILL');
    await exited;
    // A trainer whose node is gone stops by itself.
    for (const until = Date.now() + 5000; trainers.some(alive); ) {
      if (Date.now() > until) throw new Error('a trainer outlived its node');
      await new Promise((r) => setTimeout(r, 50));
    }

    server = await startNode();
    token = (await api('POST', '/auth/login', { username: 'admin', password: ADMIN_PASSWORD })).json.token;
    let job = { state: 'queued' } as Answer;
    for (const until = Date.now() + 60_000; !['succeeded', 'failed', 'cancelled'].includes(job.state); ) {
      job = (await api('GET', `/training/${id}`)).json;
      if (Date.now() > until) throw new Error(`job still ${job.state}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(job).toMatchObject({
      state: 'succeeded',
      attempts: 2,
      result: { model_name: 'churn', version: 1 },
    });
    const logs = await api('GET', `/training/${id}/logs?limit=1000`);
    expect(logs.json.items.map((l) => l.message).join('\n')).toContain('stopped renewing the lease');
    const model = await api('GET', '/models/churn');
    expect(model.json.versions).toHaveLength(1);
    expect(model.json.versions[0]).toMatchObject({ format: 'polar-tabular', lineage: { job_id: id } });
    const predicted = await api('POST', '/models/churn/predict', {
      rows: [
        { a: 4, b: 4, color: 'blue' },
        { a: -4, b: -4, color: 'red' },
      ],
    });
    expect(predicted.status, JSON.stringify(predicted.json)).toBe(200);
    expect(predicted.json.predictions).toEqual(['churn', 'stay']);
    expect(predicted.json.probabilities).toHaveLength(2);
  }, 180_000);
});
