import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestUser } from '../../../test/helpers/app.js';
import {
  createTrainingApp,
  dispatch,
  SMALL_CSV,
  scriptedSpec,
  uploadCsv,
  waitFor,
  waitForJob,
} from '../../../test/helpers/training.js';
import { newId } from '../../hub/auth/tokens.js';

let t: Awaited<ReturnType<typeof createTrainingApp>>;
let dev: TestUser;
let other: TestUser;
let dataset: { id: string; version: number };

beforeAll(async () => {
  t = await createTrainingApp();
  dev = await t.user('developer');
  other = await t.user('developer');
  dataset = await uploadCsv(t, dev.token, SMALL_CSV);
});
afterAll(async () => t?.close());

const get = async (token: string, url: string, status = 200) => {
  const res = await t.as(token, { method: 'GET', url });
  expect(res.statusCode, `${url}: ${res.body}`).toBe(status);
  return res.json();
};
const runsOf = async (token: string, query: string) =>
  (await get(token, `/api/v1/runs?${query}`)).items as { id: string; [k: string]: unknown }[];

/**
 * A finished job as a worker leaves it, made a run the way a dispatch makes it: the real trainer's
 * metrics are fixed, and ordering and filters need runs that differ.
 */
async function finishedRun(
  owner: TestUser,
  experiment: string,
  c: number,
  metrics: Record<string, unknown>,
  opts: { minutesAgo: number; series?: number[] },
) {
  const { repo } = t.app.services.forge.training;
  const at = new Date(Date.now() - opts.minutesAgo * 60_000);
  const row = await repo.insert({
    id: newId(),
    name: `lr-${c}`,
    ownerId: owner.id,
    spec: {
      ...scriptedSpec(dataset),
      experiment,
      steps: [{ type: 'logistic_regression', config: { C: c } }],
    },
    state: 'succeeded',
    attempts: 1,
    maxAttempts: 1,
    timeoutSeconds: 60,
    metrics,
    createdAt: at,
    updatedAt: at,
    startedAt: at,
    finishedAt: at,
  });
  await repo.appendMetrics(
    (opts.series ?? []).map((value, i) => ({
      jobId: row.id,
      attempt: 1,
      name: 'loss',
      step: i + 1,
      value,
      at,
    })),
  );
  const run = await t.app.services.forge.experiments.service.recordJob(row);
  return { jobId: row.id, runId: run.id };
}

describe('every job is a run', () => {
  it('joins the default experiment at dispatch and follows its job to the end, with the job’s series', async () => {
    const job = await dispatch(
      t,
      dev.token,
      scriptedSpec(dataset, { ticks: 3, duration_ms: 100 }, { register_as: 'exp-model' }),
    );
    // A run as soon as the dispatch answers.
    const [queued] = await runsOf(dev.token, 'experiment=default');
    expect(queued).toMatchObject({
      job_id: job.job_id,
      owner_id: dev.id,
      params: { 'steps.0.type': 'scripted', 'steps.0.config.ticks': 3 },
    });
    expect(['queued', 'running']).toContain(queued?.status);
    expect(queued?.params).not.toHaveProperty('name');

    await waitForJob(t, dev.token, job.job_id);
    await waitFor(
      async () => (await get(dev.token, `/api/v1/runs/${queued?.id}`)).status === 'succeeded',
      10_000,
      'run succeeded',
    );
    const run = await get(dev.token, `/api/v1/runs/${queued?.id}`);
    expect(run).toMatchObject({
      experiment_name: 'default',
      metrics: { accuracy: 0.75, attempt: 1 },
      artifacts: { model: { name: 'exp-model', version: 1 } },
      attempt: 1,
      series: [
        {
          name: 'loss',
          points: [
            { step: 1, value: 1 },
            { step: 2, value: 0.5 },
            { step: 3, value: 1 / 3 },
          ],
        },
      ],
    });
    expect(run.started_at).not.toBeNull();
    expect(run.finished_at).not.toBeNull();
    const experiments = await get(dev.token, '/api/v1/experiments');
    expect(experiments.items).toEqual([
      expect.objectContaining({ name: 'default', owner_id: dev.id, run_count: 1 }),
    ]);
  });

  it('creates the experiment a spec names on demand, one per owner for the same name', async () => {
    const mine = await dispatch(t, dev.token, scriptedSpec(dataset, {}, { experiment: 'Churn' }));
    const theirs = await dispatch(
      t,
      other.token,
      scriptedSpec(await uploadCsv(t, other.token, SMALL_CSV), {}, { experiment: 'churn' }),
    );
    const a = await get(dev.token, '/api/v1/experiments/churn');
    const b = await get(other.token, '/api/v1/experiments/churn');
    expect(a.id).not.toBe(b.id);
    expect(a).toMatchObject({ name: 'Churn', owner_id: dev.id, run_count: 1 });
    expect((await runsOf(dev.token, `experiment=${a.id}`)).map((r) => r.job_id)).toEqual([mine.job_id]);
    expect((await runsOf(other.token, 'experiment=churn')).map((r) => r.job_id)).toEqual([theirs.job_id]);
    const bad = await t.as(dev.token, {
      method: 'POST',
      url: '/api/v1/training/dispatch',
      payload: scriptedSpec(dataset, {}, { experiment: '../x' }),
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors[0].path).toBe('body.experiment');
    await waitForJob(t, dev.token, mine.job_id);
    await waitForJob(t, other.token, theirs.job_id);
  });
});

describe('experiments API', () => {
  it('creates, renames nothing, changes description and tags, and refuses a second name of yours', async () => {
    const res = await t.as(dev.token, {
      method: 'POST',
      url: '/api/v1/experiments',
      payload: { name: 'pricing', description: 'first', tags: { team: 'growth' } },
    });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({
      name: 'pricing',
      description: 'first',
      tags: { team: 'growth' },
      run_count: 0,
    });
    const again = await t.as(dev.token, {
      method: 'POST',
      url: '/api/v1/experiments',
      payload: { name: 'PRICING' },
    });
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe('experiment_name_taken');
    // Another user may have the same name.
    const theirs = await t.as(other.token, {
      method: 'POST',
      url: '/api/v1/experiments',
      payload: { name: 'pricing' },
    });
    expect(theirs.statusCode).toBe(201);
    const patched = await t.as(dev.token, {
      method: 'PATCH',
      url: `/api/v1/experiments/${res.json().id}`,
      payload: { description: 'second', tags: { team: 'risk' } },
    });
    expect(patched.json()).toMatchObject({ description: 'second', tags: { team: 'risk' } });
    for (const payload of [{ name: '' }, { name: 'a/b' }, { name: 'x', tags: { 'a:b': 'c' } }]) {
      const r = await t.as(dev.token, { method: 'POST', url: '/api/v1/experiments', payload });
      expect(r.statusCode, JSON.stringify(payload)).toBe(400);
    }
    const empty = await t.as(dev.token, {
      method: 'PATCH',
      url: `/api/v1/experiments/${res.json().id}`,
      payload: {},
    });
    expect(empty.statusCode).toBe(400);
  });

  it('another user’s experiment and runs are 404, as if they did not exist; admins see them', async () => {
    const exp = await get(dev.token, '/api/v1/experiments/default');
    const [run] = await runsOf(dev.token, 'experiment=default');
    await get(other.token, `/api/v1/experiments/${exp.id}`, 404);
    expect((await get(other.token, `/api/v1/runs?experiment=${exp.id}`, 404)).code).toBe(
      'experiment_not_found',
    );
    expect((await get(other.token, `/api/v1/runs/${run?.id}`, 404)).code).toBe('run_not_found');
    const [theirRun] = await runsOf(other.token, 'experiment=churn');
    await get(other.token, `/api/v1/runs/compare?ids=${theirRun?.id},${run?.id}`, 404);
    for (const [method, url, payload] of [
      ['PATCH', `/api/v1/experiments/${exp.id}`, { description: 'x' }],
      ['DELETE', `/api/v1/experiments/${exp.id}`, undefined],
      ['PATCH', `/api/v1/runs/${run?.id}`, { tags: { a: 'b' } }],
    ] as const) {
      const res = await t.as(other.token, { method, url, ...(payload ? { payload } : {}) });
      expect(res.statusCode, `${method} ${url}`).toBe(404);
    }
    expect((await runsOf(other.token, '')).every((r) => r.owner_id === other.id)).toBe(true);
    // The list shows only the caller's experiments.
    const listed = (await get(other.token, '/api/v1/experiments')).items.map(
      (e: { owner_id: string }) => e.owner_id,
    );
    expect(new Set(listed)).toEqual(new Set([other.id]));
    await get(t.admin.token, `/api/v1/experiments/${exp.id}`);
    await get(t.admin.token, `/api/v1/runs/${run?.id}`);
    const all = await get(t.admin.token, `/api/v1/experiments?owner=${dev.id}`);
    expect(all.items.every((e: { owner_id: string }) => e.owner_id === dev.id)).toBe(true);
  });

  it('refuses to delete an experiment with an active run; deleting keeps its jobs', async () => {
    const job = await dispatch(t, dev.token, scriptedSpec(dataset, { hang: true }, { experiment: 'doomed' }));
    const busy = await t.as(dev.token, { method: 'DELETE', url: '/api/v1/experiments/doomed' });
    expect(busy.statusCode).toBe(409);
    expect(busy.json().code).toBe('experiment_has_active_runs');
    await t.as(dev.token, { method: 'POST', url: `/api/v1/training/${job.job_id}/cancel` });
    await waitFor(
      async () => (await runsOf(dev.token, 'experiment=doomed'))[0]?.status === 'cancelled',
      10_000,
      'run cancelled',
    );
    const gone = await t.as(dev.token, { method: 'DELETE', url: '/api/v1/experiments/doomed' });
    expect(gone.statusCode, gone.body).toBe(204);
    await get(dev.token, '/api/v1/experiments/doomed', 404);
    expect((await get(dev.token, `/api/v1/training/${job.job_id}`)).state).toBe('cancelled');
    expect((await runsOf(dev.token, 'limit=200')).some((r) => r.job_id === job.job_id)).toBe(false);
  });
});

describe('runs: filters, ordering, pages and comparison', () => {
  const ids: Record<string, string> = {};
  beforeAll(async () => {
    const specs = [
      [0.01, { accuracy: 0.61, log_loss: 0.9 }, [0.9, 0.8]],
      [0.1, { accuracy: 0.83, log_loss: 0.5 }, [0.7, 0.5]],
      [1, { accuracy: 0.95, log_loss: 0.2 }, [0.6, 0.3, 0.2]],
      [10, { accuracy: 0.91, log_loss: 0.3 }, []],
      [100, { log_loss: 0.4 }, []],
    ] as const;
    for (const [i, [c, m, series]] of specs.entries())
      ids[String(c)] = (
        await finishedRun(dev, 'sweep', c, m, { minutesAgo: 50 - i, series: [...series] })
      ).runId;
  });
  const names = (runs: { [k: string]: unknown }[]) => runs.map((r) => r.name);

  it('filters by metric, param and status, all at once', async () => {
    expect(names(await runsOf(dev.token, 'experiment=sweep&filter=metrics.accuracy>0.9'))).toEqual([
      'lr-10',
      'lr-1',
    ]);
    expect(
      names(
        await runsOf(dev.token, 'experiment=sweep&filter=metrics.accuracy>=0.83 and metrics.log_loss<0.4'),
      ),
    ).toEqual(['lr-10', 'lr-1']);
    expect(
      names(
        await runsOf(
          dev.token,
          'experiment=sweep&filter=metrics.accuracy>0.5&filter=params.steps.0.config.C<=0.1',
        ),
      ),
    ).toEqual(['lr-0.1', 'lr-0.01']);
    expect(names(await runsOf(dev.token, 'experiment=sweep&filter=params.steps.0.config.C=1'))).toEqual([
      'lr-1',
    ]);
    expect(
      names(await runsOf(dev.token, "experiment=sweep&filter=params.steps.0.type='logistic_regression'")),
    ).toHaveLength(5);
    expect(await runsOf(dev.token, 'experiment=sweep&status=failed')).toEqual([]);
    expect(await runsOf(dev.token, 'experiment=sweep&status=succeeded')).toHaveLength(5);
    const bad = await get(dev.token, '/api/v1/runs?filter=accuracy>0.9', 400);
    expect(bad.code).toBe('invalid_filter');
    expect((await get(dev.token, '/api/v1/runs?order_by=owner', 400)).code).toBe('invalid_order_by');
  });

  it('orders by a metric either way, runs without it last, and pages through with cursors', async () => {
    expect(names(await runsOf(dev.token, 'experiment=sweep&order_by=metrics.accuracy desc'))).toEqual([
      'lr-1',
      'lr-10',
      'lr-0.1',
      'lr-0.01',
      'lr-100',
    ]);
    expect(names(await runsOf(dev.token, 'experiment=sweep&order_by=metrics.accuracy asc'))).toEqual([
      'lr-0.01',
      'lr-0.1',
      'lr-10',
      'lr-1',
      'lr-100',
    ]);
    expect(names(await runsOf(dev.token, 'experiment=sweep&order_by=params.steps.0.config.C desc'))[0]).toBe(
      'lr-100',
    );
    expect(names(await runsOf(dev.token, 'experiment=sweep'))[0]).toBe('lr-100');
    for (const order of ['metrics.accuracy desc', 'metrics.log_loss', 'created_at', 'name desc']) {
      const all = names(await runsOf(dev.token, `experiment=sweep&order_by=${order}`));
      const paged: unknown[] = [];
      let cursor: string | null = null;
      do {
        const page = await get(
          dev.token,
          `/api/v1/runs?experiment=sweep&limit=2&order_by=${encodeURIComponent(order)}${cursor ? `&cursor=${cursor}` : ''}`,
        );
        expect(page.items.length).toBeLessThanOrEqual(2);
        paged.push(...names(page.items));
        cursor = page.next_cursor;
      } while (cursor);
      expect(paged, order).toEqual(all);
    }
    expect((await get(dev.token, '/api/v1/runs?cursor=nonsense', 400)).code).toBe('invalid_cursor');
  });

  it('tags runs and filters by tag', async () => {
    const res = await t.as(dev.token, {
      method: 'PATCH',
      url: `/api/v1/runs/${ids['1']}`,
      payload: { tags: { candidate: 'yes', note: 'best so far' } },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().tags).toEqual({ candidate: 'yes', note: 'best so far' });
    await t.as(dev.token, {
      method: 'PATCH',
      url: `/api/v1/runs/${ids['10']}`,
      payload: { tags: { candidate: 'no' } },
    });
    expect(names(await runsOf(dev.token, 'tag=candidate'))).toEqual(['lr-10', 'lr-1']);
    expect(names(await runsOf(dev.token, 'tag=candidate:yes'))).toEqual(['lr-1']);
    expect(names(await runsOf(dev.token, "filter=tags.candidate != 'yes'&experiment=sweep"))).toHaveLength(4);
    const removed = await t.as(dev.token, {
      method: 'PATCH',
      url: `/api/v1/runs/${ids['1']}`,
      payload: { tags: { note: null } },
    });
    expect(removed.json().tags).toEqual({ candidate: 'yes' });
  });

  it('compares runs: params that differ, metrics side by side, series to overlay', async () => {
    const cmp = await get(dev.token, `/api/v1/runs/compare?ids=${ids['0.1']},${ids['1']},${ids['100']}`);
    expect(cmp.runs.map((r: { name: string }) => r.name)).toEqual(['lr-0.1', 'lr-1', 'lr-100']);
    expect(cmp.params_diff).toEqual([{ key: 'steps.0.config.C', values: [0.1, 1, 100] }]);
    expect(cmp.params_same).toMatchObject({
      'steps.0.type': 'logistic_regression',
      target: 'y',
      dataset_version: 1,
    });
    expect(cmp.metrics).toEqual([
      { key: 'accuracy', values: [0.83, 0.95, null] },
      { key: 'log_loss', values: [0.5, 0.2, 0.4] },
    ]);
    expect(cmp.series).toEqual([
      {
        name: 'loss',
        runs: [
          {
            run_id: ids['0.1'],
            points: [
              { step: 1, value: 0.7 },
              { step: 2, value: 0.5 },
            ],
          },
          {
            run_id: ids['1'],
            points: [
              { step: 1, value: 0.6 },
              { step: 2, value: 0.3 },
              { step: 3, value: 0.2 },
            ],
          },
        ],
      },
    ]);
    expect((await get(dev.token, `/api/v1/runs/compare?ids=${ids['1']}`, 400)).code).toBe('validation_error');
    expect((await get(dev.token, `/api/v1/runs/compare?ids=${ids['1']},nope`, 404)).code).toBe(
      'run_not_found',
    );
  });
});
