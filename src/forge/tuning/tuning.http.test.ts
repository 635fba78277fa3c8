import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestUser } from '../../../test/helpers/app.js';
import {
  createTrainingApp,
  isAlive,
  SMALL_CSV,
  scriptedSpec,
  uploadCsv,
  waitFor,
} from '../../../test/helpers/training.js';
import { ACTIVE } from '../jobs/state.js';

/**
 * The search machinery over the scripted trainer (every step config passes the step check, every
 * trial reports accuracy 0.75): concurrency, successive halving, cancel, refusals, privacy.
 */
let t: Awaited<ReturnType<typeof createTrainingApp>>;
let dev: TestUser;
let other: TestUser;
let dataset: { id: string; version: number };

beforeAll(async () => {
  t = await createTrainingApp({ workers: { count: 4 } });
  dev = await t.user('developer');
  other = await t.user('developer');
  dataset = await uploadCsv(t, dev.token, SMALL_CSV);
});
afterAll(async () => t?.close());

type Search = {
  job: { job_id: string; state: string; result: unknown; progress: number };
  trials: {
    number: number;
    rung: number;
    state: string;
    job_id: string | null;
    run_id: string | null;
    params: Record<string, unknown>;
  }[];
  best_trial: { number: number } | null;
  [k: string]: unknown;
};

async function tune(token: string, body: unknown, status = 202) {
  const res = await t.as(token, { method: 'POST', url: '/api/v1/training/tune', payload: body as object });
  expect(res.statusCode, res.body).toBe(status);
  return res.json();
}
const getSearch = async (token: string, id: string): Promise<Search> => {
  const res = await t.as(token, { method: 'GET', url: `/api/v1/training/tune/${id}` });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
};
async function waitForSearch(
  id: string,
  done = (s: Search) => ['succeeded', 'failed', 'cancelled'].includes(s.job.state),
) {
  let last: Search | undefined;
  await waitFor(
    async () => {
      last = await getSearch(dev.token, id);
      return done(last);
    },
    40_000,
    `search ${id}`,
  );
  return last as Search;
}
const activeChildren = async (id: string, states: readonly string[] = ACTIVE) => {
  const s = await getSearch(dev.token, id);
  const jobs = await Promise.all(
    s.trials
      .filter((x) => x.job_id)
      .map(async (x) =>
        (await t.as(dev.token, { method: 'GET', url: `/api/v1/training/${x.job_id}` })).json(),
      ),
  );
  return jobs.filter((j) => states.includes(j.state)).length;
};

describe('a search runs its trials as training jobs', () => {
  it('keeps to max_concurrency with more workers free, and ends with every trial a run', {
    timeout: 90_000,
  }, async () => {
    const search = await tune(dev.token, {
      spec: scriptedSpec(
        dataset,
        { duration_ms: 600, ticks: 2 },
        { name: 'concurrency', experiment: 'tuning' },
      ),
      search: {
        strategy: 'grid',
        space: { 'steps.0.config.logs': { values: [1, 2, 3, 4] } },
        metric: 'accuracy',
        max_concurrency: 2,
      },
    });
    expect(search.job.state).toBe('running');
    expect(search.trials.map((x: { state: string }) => x.state)).toEqual([
      'active',
      'active',
      'pending',
      'pending',
    ]);
    const done = await waitForSearch(search.job.job_id);
    expect(done.job.state).toBe('succeeded');
    expect(done.trials.every((x) => x.state === 'succeeded')).toBe(true);
    const runs = (
      await t.as(dev.token, {
        method: 'GET',
        url: `/api/v1/runs?experiment=tuning&tag=polar.search_job_id:${search.job.job_id}`,
      })
    ).json().items;
    expect(runs).toHaveLength(4);
    expect(new Set(runs.map((r: { id: string }) => r.id))).toEqual(new Set(done.trials.map((x) => x.run_id)));

    // A second search, its active trials counted while it runs.
    let most = 0;
    const again = await tune(dev.token, {
      spec: scriptedSpec(dataset, { duration_ms: 400, ticks: 2 }, { name: 'concurrency2' }),
      search: {
        strategy: 'random',
        n_trials: 5,
        seed: 1,
        space: { 'steps.0.config.logs': { int: [0, 3] } },
        metric: 'accuracy',
        max_concurrency: 2,
      },
    });
    await waitFor(
      async () => {
        most = Math.max(most, await activeChildren(again.job.job_id));
        return (await getSearch(dev.token, again.job.job_id)).job.state !== 'running';
      },
      40_000,
      'second search',
    );
    expect(most).toBe(2);
  });

  it('successive halving sends the best of each rung on with a bigger budget and registers once', {
    timeout: 60_000,
  }, async () => {
    const search = await tune(dev.token, {
      spec: scriptedSpec(dataset, { duration_ms: 100 }, { name: 'halving', register_as: 'halved' }),
      search: {
        strategy: 'successive_halving',
        n_trials: 3,
        seed: 4,
        space: { 'steps.0.config.logs': { int: [0, 9] } },
        metric: 'accuracy',
        max_concurrency: 3,
        halving: { budget: 'steps.0.config.ticks', min_budget: 1, max_budget: 3, eta: 3 },
      },
    });
    expect(search.rungs).toEqual([
      { configs: 3, budget: 1 },
      { configs: 1, budget: 3 },
    ]);
    const done = await waitForSearch(search.job.job_id);
    expect(done.job.state, JSON.stringify(done)).toBe('succeeded');
    expect(done.trials.map((x) => [x.number, x.rung, x.params['steps.0.config.ticks']])).toEqual([
      [1, 0, 1],
      [2, 0, 1],
      [3, 0, 1],
      [4, 1, 3],
    ]);
    // Every trial scores the same: the earliest goes on, with its own values.
    expect(done.trials[3]?.params['steps.0.config.logs']).toBe(done.trials[0]?.params['steps.0.config.logs']);
    expect(done.best_trial?.number).toBe(4);
    const { versions } = (await t.as(dev.token, { method: 'GET', url: '/api/v1/models/halved' })).json();
    expect(versions).toHaveLength(1);
    expect(versions[0].lineage).toMatchObject({
      job_id: search.job.job_id,
      trial_job_id: done.trials[3]?.job_id,
    });
  });

  it('cancelling the parent cancels running trials and the ones not started; nothing is registered', async () => {
    const search = await tune(dev.token, {
      spec: scriptedSpec(dataset, { hang: true }, { name: 'cancelled', register_as: 'never' }),
      search: {
        strategy: 'grid',
        space: { 'steps.0.config.logs': { values: [1, 2, 3] } },
        metric: 'accuracy',
        max_concurrency: 2,
      },
    });
    const id = search.job.job_id;
    await waitFor(async () => (await activeChildren(id, ['running'])) === 2, 20_000, 'two trials running');
    const trialJobs = (await getSearch(dev.token, id)).trials.flatMap((x) => (x.job_id ? [x.job_id] : []));
    await waitFor(() => trialJobs.every((j) => t.pids.has(j)), 20_000, 'trainers started');
    const res = await t.as(dev.token, { method: 'POST', url: `/api/v1/training/tune/${id}/cancel` });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().job.state).toBe('cancelled');
    expect(res.json().trials.map((x: { state: string }) => x.state)).toEqual([
      'cancelled',
      'cancelled',
      'cancelled',
    ]);
    expect(res.json().trials[2].job_id).toBeNull();
    expect(await activeChildren(id)).toBe(0);
    const pids = trialJobs.flatMap((j) => t.pids.get(j) ?? []);
    expect(pids).toHaveLength(2);
    for (const pid of pids) await waitFor(() => !isAlive(pid), 5000, `trainer ${pid} killed`);
    expect((await t.as(dev.token, { method: 'GET', url: '/api/v1/models/never' })).statusCode).toBe(404);
    const again = await t.as(dev.token, { method: 'POST', url: `/api/v1/training/tune/${id}/cancel` });
    expect(again.statusCode).toBe(200);
  });

  it('the jobs API’s cancel of the parent cancels the trials too', async () => {
    const search = await tune(dev.token, {
      spec: scriptedSpec(dataset, { hang: true }, { name: 'cancelled2' }),
      search: {
        strategy: 'grid',
        space: { 'steps.0.config.logs': { values: [1, 2] } },
        metric: 'accuracy',
        max_concurrency: 2,
      },
    });
    const id = search.job.job_id;
    await waitFor(async () => (await activeChildren(id)) === 2, 10_000, 'two trials running');
    const res = await t.as(dev.token, { method: 'POST', url: `/api/v1/training/${id}/cancel` });
    expect(res.statusCode).toBe(200);
    await waitFor(async () => (await activeChildren(id)) === 0, 10_000, 'trials cancelled');
    expect((await getSearch(dev.token, id)).phase).toBe('done');
  });
});

describe('refusals', () => {
  const spec = () => scriptedSpec(dataset, {}, { name: 'refused' });
  const base = { strategy: 'grid', space: { 'steps.0.config.logs': { values: [1] } }, metric: 'accuracy' };

  it('400 naming the field of a bad search, and nothing is created', async () => {
    const before = (await t.as(dev.token, { method: 'GET', url: '/api/v1/training?limit=200' })).json().items
      .length;
    const cases: [unknown, string][] = [
      [
        { spec: spec(), search: { ...base, space: { 'steps.4.config.logs': { values: [1] } } } },
        'body.search.space.steps.4.config.logs',
      ],
      [
        { spec: spec(), search: { ...base, space: { 'evaluation.seed': { values: [1] } } } },
        'body.search.space.evaluation.seed',
      ],
      [
        { spec: spec(), search: { ...base, space: { 'steps.0.config.x': { float: [0.1, 1] } } } },
        'body.search.space.steps.0.config.x',
      ],
      [
        {
          spec: spec(),
          search: {
            ...base,
            space: { 'steps.0.config.x': { float: [0, 1], log: true } },
            strategy: 'random',
            n_trials: 2,
          },
        },
        'body.search.space.steps.0.config.x',
      ],
      [
        { spec: spec(), search: { ...base, space: { 'steps.0.config.x': { int: [1, 300] } } } },
        'body.search.space',
      ],
      [{ spec: spec(), search: { ...base, metric: 'rmse' } }, 'body.search.metric'],
      [{ spec: spec(), search: { ...base, strategy: 'random' } }, 'body.search.n_trials'],
      [{ spec: spec(), search: { ...base, max_concurrency: 0 } }, 'body.search.max_concurrency'],
      [
        {
          spec: spec(),
          search: {
            ...base,
            strategy: 'successive_halving',
            n_trials: 2,
            halving: { budget: 'steps.0.config.ticks', min_budget: 5, max_budget: 6 },
          },
        },
        'body.search.halving',
      ],
      [{ spec: { ...spec(), target: 'nope' }, search: base }, 'body.spec.target'],
      [{ spec: { ...spec(), steps: [] }, search: base }, 'body.spec.steps'],
    ];
    for (const [body, path] of cases) {
      const res = await t.as(dev.token, {
        method: 'POST',
        url: '/api/v1/training/tune',
        payload: body as object,
      });
      expect(res.statusCode, `${path}: ${res.body}`).toBe(400);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(
        res.json().errors.map((e: { path: string }) => e.path),
        res.body,
      ).toContain(path);
    }
    const after = (await t.as(dev.token, { method: 'GET', url: '/api/v1/training?limit=200' })).json().items
      .length;
    expect(after).toBe(before);
  });

  it('another user’s search is 404; a plain job is no search', async () => {
    const search = await tune(dev.token, {
      spec: scriptedSpec(dataset, {}, { name: 'private' }),
      search: base,
    });
    for (const [method, url] of [
      ['GET', `/api/v1/training/tune/${search.job.job_id}`],
      ['POST', `/api/v1/training/tune/${search.job.job_id}/cancel`],
    ] as const) {
      const res = await t.as(other.token, { method, url });
      expect(res.statusCode, `${method} ${url}`).toBe(404);
    }
    const hidden = await t.as(other.token, {
      method: 'POST',
      url: '/api/v1/training/tune',
      payload: { spec: scriptedSpec(dataset), search: base },
    });
    expect(hidden.statusCode).toBe(404);
    await waitForSearch(search.job.job_id);
    const trialJob = (await getSearch(dev.token, search.job.job_id)).trials[0]?.job_id;
    const plain = await t.as(dev.token, { method: 'GET', url: `/api/v1/training/tune/${trialJob}` });
    expect(plain.statusCode).toBe(404);
    expect(plain.json().code).toBe('search_not_found');
  });
});
