import { expect } from 'vitest';
import type { Script } from '../fixtures/trainers/scripted.js';
import { createTestApp, type TestApp } from './app.js';
import { multipart } from './multipart.js';

export const SCRIPTED_TRAINER = new URL('../fixtures/trainers/scripted.ts', import.meta.url).href;

/**
 * Short leases and backoffs so durability tests take seconds, not minutes; the lease still outlasts
 * a few seconds of a starved event loop on a busy test machine.
 */
export const FAST_WORKERS = {
  count: 1,
  lease_seconds: 5,
  heartbeat_seconds: 1,
  backoff_base_seconds: 1,
  backoff_max_seconds: 2,
};

/**
 * An app whose training runs the scripted test trainer (any step list passes the step check), with
 * pids of trainer processes recorded per job.
 */
export async function createTrainingApp(
  opts: { workers?: Record<string, unknown>; env?: Record<string, string> } = {},
): Promise<TestApp & { pids: Map<string, number[]> }> {
  const pids = new Map<string, number[]>();
  const t = await createTestApp({
    ...(opts.env ? { env: opts.env } : {}),
    deps: {
      settingsOverrides: {
        'security/auth': { login_per_minute: 10_000 },
        'forge/workers': { ...FAST_WORKERS, ...opts.workers },
      },
      forge: {
        training: {
          trainer: SCRIPTED_TRAINER,
          checkSteps: async () => [],
          pollMs: 100,
          onSpawn: (jobId, pid) => pids.set(jobId, [...(pids.get(jobId) ?? []), pid]),
        },
      },
    },
  });
  return Object.assign(t, { pids });
}

/** Uploads a CSV dataset as `token` and answers its id and version. */
export async function uploadCsv(
  t: TestApp,
  token: string,
  csv: string,
  name = `ds${Math.random().toString(36).slice(2, 8)}`,
): Promise<{ id: string; version: number }> {
  const body = multipart([
    { field: 'name', value: name },
    { file: `${name}.csv`, data: Buffer.from(csv) },
  ]);
  const res = await t.as(token, { method: 'POST', url: '/api/v1/datasets', ...body });
  expect(res.statusCode, res.body).toBe(201);
  const j = res.json();
  return { id: j.id, version: j.version.version };
}

export const SMALL_CSV = `x,y\n${Array.from({ length: 20 }, (_, i) => `${i},${i % 2 ? 'a' : 'b'}`).join('\n')}\n`;

/** A spec for the scripted trainer. */
export function scriptedSpec(dataset: { id: string; version: number }, script: Script = {}, extra = {}) {
  return {
    name: `job-${Math.random().toString(36).slice(2, 8)}`,
    dataset_id: dataset.id,
    dataset_version: dataset.version,
    target: 'y',
    task: 'classification',
    steps: [{ type: 'scripted', config: script }],
    ...extra,
  };
}

export async function dispatch(t: TestApp, token: string, spec: unknown) {
  const res = await t.as(token, {
    method: 'POST',
    url: '/api/v1/training/dispatch',
    payload: spec as object,
  });
  // An unexpected answer shows what the server logged about it.
  const logged =
    res.statusCode >= 500 ? t.logs.filter((l) => l.includes(res.json().request_id)).join('\n') : '';
  expect(res.statusCode, `${res.body} ${logged}`).toBe(202);
  return res.json() as { job_id: string; state: string; [k: string]: unknown };
}

export async function getJob(t: TestApp, token: string, id: string) {
  const res = await t.as(token, { method: 'GET', url: `/api/v1/training/${id}` });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

/** Polls the job until `done` holds (default: it ended), failing after `timeoutMs`. */
export async function waitForJob(
  t: TestApp,
  token: string,
  id: string,
  done: (job: { state: string; [k: string]: unknown }) => boolean = (j) =>
    ['succeeded', 'failed', 'cancelled'].includes(j.state),
  timeoutMs = 60_000,
) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const job = await getJob(t, token, id);
    if (done(job)) return job;
    if (Date.now() > until) throw new Error(`job ${id} still ${job.state}: ${JSON.stringify(job)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  what = 'condition',
) {
  const until = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
