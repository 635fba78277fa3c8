import type { AuditService } from '../../hub/audit/service.js';
import type { RequestContext } from '../../hub/auth/principal.js';
import { newId } from '../../hub/auth/tokens.js';
import { AppError, type FieldError, ValidationError } from '../../platform/errors.js';
import type { JobEvents } from '../jobs/events.js';
import type { DatasetFiles, StepChecker } from '../jobs/ports.js';
import type { JobRepository, JobRow } from '../jobs/repository.js';
import { toTrainingJob } from '../jobs/schema.js';
import type { TrainingService } from '../jobs/service.js';
import type { TrainingSpec } from '../jobs/spec.js';
import type { WorkerSettings } from '../workers/settings.js';
import { invalidSearch, searchNotFound } from './errors.js';
import { bestTrial, halvingSchedule } from './halving.js';
import type { TrialRow, TuningRepository } from './repository.js';
import { directionOf, plannedTrials, type SearchRunner, settingsOf } from './runner.js';
import type { SearchView, TrialView } from './schema.js';
import { type Assignment, checkSpace, expandGrid, gridSize, MAX_TRIALS, sampleSpace } from './space.js';
import { type SearchSection, type TuneBody, trialSpec } from './spec.js';
import type { Rung } from './tables.js';

/** The final metrics Forge's pipelines report per task (pipelines/metrics.ts), those a search can rank by. */
const PIPELINE_METRICS: Record<TrainingSpec['task'], string[]> = {
  classification: ['accuracy', 'f1_macro', 'precision_macro', 'recall_macro', 'roc_auc', 'log_loss'],
  regression: ['rmse', 'mae', 'r2'],
  clustering: ['inertia'],
};

/** Problems reported for one search, at most: the same mistake repeats over many trials. */
const MAX_PROBLEMS = 20;

export interface TuningServiceDeps {
  repo: TuningRepository;
  jobs: Pick<JobRepository, 'insert' | 'get'>;
  training: Pick<TrainingService, 'get' | 'cancel'>;
  runner: SearchRunner;
  datasets: DatasetFiles;
  checkSteps: StepChecker;
  experiments: {
    recordJob(row: JobRow): Promise<void>;
    annotateJob(jobId: string, add: { tags?: Record<string, string> }): Promise<unknown>;
    runIdsOfJobs(jobIds: string[]): Promise<Map<string, string>>;
  };
  events: Pick<JobEvents, 'job'>;
  audit: AuditService;
  settings: () => WorkerSettings;
  now: () => Date;
}

interface Plan {
  rungs: Rung[];
  /** Rung 0's trials, in dispatch order. */
  first: Assignment[];
}

/** What the search runs: its rungs and the first rung's assignments (budget included). */
function plan(search: SearchSection): Plan | FieldError[] {
  if (search.strategy === 'grid') {
    const size = gridSize(search.space);
    if (!Number.isFinite(size)) {
      const key = Object.entries(search.space).find(([, d]) => 'float' in d)?.[0];
      return [
        {
          path: `body.search.space.${key}`,
          message: 'a grid needs values or an int range here; float ranges go with random search',
        },
      ];
    }
    if (size > MAX_TRIALS)
      return [
        { path: 'body.search.space', message: `the grid has ${size} combinations; at most ${MAX_TRIALS}` },
      ];
    const first = expandGrid(search.space);
    return { rungs: [{ configs: first.length, budget: null }], first };
  }
  const n = search.n_trials ?? 1;
  const sampled = sampleSpace(search.space, n, search.seed);
  if (search.strategy === 'random') return { rungs: [{ configs: n, budget: null }], first: sampled };
  const h = search.halving!;
  const rungs = halvingSchedule(n, h.eta, h.min_budget, h.max_budget);
  if (rungs.length < 2)
    return [
      {
        path: 'body.search.halving',
        message: `no halving: give n_trials ≥ eta (${h.eta}) and max_budget ≥ eta × min_budget`,
      },
    ];
  const total = rungs.reduce((a, r) => a + r.configs, 0);
  if (total > MAX_TRIALS)
    return [
      { path: 'body.search.n_trials', message: `the rungs add up to ${total} trials; at most ${MAX_TRIALS}` },
    ];
  return { rungs, first: sampled.map((a) => ({ ...a, [h.budget]: rungs[0]?.budget })) };
}

export function createTuningService(deps: TuningServiceDeps) {
  /**
   * Every trial's step configs against the step registry, as its dispatch would check them, before
   * anything exists. A problem at a searched field names it in the space, with the value tried.
   */
  async function checkTrials(spec: TrainingSpec, search: SearchSection, p: Plan): Promise<FieldError[]> {
    const budget = search.halving?.budget;
    const candidates = p.first.map((a, i) => ({ a, n: i + 1 }));
    // Each later rung's budget, with the first configuration.
    for (const r of p.rungs.slice(1))
      if (budget && p.first[0]) candidates.push({ a: { ...p.first[0], [budget]: r.budget }, n: 1 });
    const seen = new Map<string, FieldError>();
    for (const { a, n } of candidates) {
      for (const e of await deps.checkSteps(trialSpec(spec, a, n))) {
        const searched = e.path in a;
        const path =
          e.path === budget
            ? 'body.search.halving.budget'
            : searched
              ? `body.search.space.${e.path}`
              : `body.spec.${e.path}`;
        const message = searched ? `${JSON.stringify(a[e.path])}: ${e.message}` : e.message;
        seen.set(`${path}\n${message}`, { path, message });
        if (seen.size >= MAX_PROBLEMS) return [...seen.values()];
      }
    }
    return [...seen.values()];
  }

  const trialView = (t: TrialRow, runs: Map<string, string>): TrialView => ({
    number: t.number,
    rung: t.rung,
    params: t.params,
    state: t.state,
    job_id: t.jobId,
    run_id: t.jobId ? (runs.get(t.jobId) ?? null) : null,
    metric: t.metric,
    error: t.error ?? null,
  });

  const service = {
    /**
     * Validates the search, creates the parent job (running from the start: its trials are queued)
     * and dispatches the first trials. A refusal of the first trial's dispatch (a column the dataset
     * lacks, a model the caller may not write to) undoes the search and answers that refusal.
     */
    async create(ctx: RequestContext, body: TuneBody): Promise<SearchView> {
      const { search } = body;
      if (body.spec.steps.length === 0)
        throw invalidSearch([
          {
            path: 'body.spec.steps',
            message: 'a search tunes pipeline step configs; this spec names a trainer',
          },
        ]);
      const problems = checkSpace(search.space, body.spec.steps.length, 'body.search.space');
      if (search.halving)
        problems.push(
          ...checkSpace({ [search.halving.budget]: { values: [1] } }, body.spec.steps.length, 'x').map(
            (e) => ({
              ...e,
              path: 'body.search.halving.budget',
            }),
          ),
        );
      const known = PIPELINE_METRICS[body.spec.task];
      if (!known.includes(search.metric))
        problems.push({
          path: 'body.search.metric',
          message: `a ${body.spec.task} pipeline reports ${known.join(', ')}`,
        });
      if (problems.length > 0) throw invalidSearch(problems);
      const p = plan(search);
      if (Array.isArray(p)) throw invalidSearch(p);
      const stepProblems = await checkTrials(body.spec, search, p);
      if (stepProblems.length > 0) throw invalidSearch(stepProblems);

      // Also refuses a dataset the caller cannot read before anything exists; trials name it by id.
      const dataset = await deps.datasets.fileFor(ctx, body.spec.dataset_id, body.spec.dataset_version);
      const base: TrainingSpec = { ...body.spec, dataset_id: dataset.datasetId };
      const now = deps.now();
      const id = newId();
      const planned = p.rungs.reduce((a, r) => a + r.configs, 0);
      const parent = await deps.jobs.insert({
        id,
        name: base.name,
        ownerId: ctx.principal!.userId,
        spec: { ...base, search } as unknown as Record<string, unknown>,
        state: 'running',
        message: `0 of ${planned} trials done`,
        priority: base.priority,
        maxAttempts: 1,
        timeoutSeconds: base.resources.timeout_seconds ?? deps.settings().default_timeout_seconds,
        createdAt: now,
        updatedAt: now,
        startedAt: now,
      });
      await deps.repo.insert(
        {
          jobId: id,
          ownerId: parent.ownerId,
          strategy: search.strategy,
          search: search as unknown as Record<string, unknown>,
          rungs: p.rungs,
          createdAt: now,
          updatedAt: now,
        },
        p.first.map((params, i) => ({
          id: newId(),
          searchId: id,
          number: i + 1,
          configIndex: i,
          rung: 0,
          params,
          createdAt: now,
          updatedAt: now,
        })),
      );
      try {
        await deps.runner.advance(id, { ctx, strict: true });
      } catch (err) {
        const started = (await deps.repo.trials(id)).some((t) => t.jobId);
        if (started || !(err instanceof AppError) || err.status >= 500) throw err;
        await deps.repo.deleteParent(id);
        // The trial's spec is the request's spec: point at its fields there.
        throw err.errors
          ? new ValidationError(
              err.message,
              err.errors.map((e) => ({ ...e, path: e.path.replace(/^body\./, 'body.spec.') })),
              err.code,
            )
          : err;
      }
      await deps.experiments.recordJob(parent);
      await deps.experiments.annotateJob(id, { tags: { 'polar.search': search.strategy } });
      await deps.audit.record(ctx, {
        action: 'training.tune',
        targetType: 'training_job',
        targetId: id,
        details: { name: base.name, strategy: search.strategy, trials: planned, metric: search.metric },
      });
      const row = await deps.jobs.get(id);
      if (row) await deps.events.job(row, 'job.running');
      return service.get(ctx, id);
    },

    /** The parent job, how the search runs, every trial so far, and the best one. */
    async get(ctx: RequestContext, id: string): Promise<SearchView> {
      await deps.training.get(ctx, id);
      const search = await deps.repo.search(id);
      const parent = await deps.jobs.get(id);
      if (!search || !parent) throw searchNotFound();
      const s = settingsOf(search);
      const trials = await deps.repo.trials(id);
      const runs = await deps.experiments.runIdsOfJobs(trials.flatMap((t) => (t.jobId ? [t.jobId] : [])));
      const best = search.bestTrialId
        ? trials.find((t) => t.id === search.bestTrialId)
        : bestTrial(trials, directionOf(s));
      return {
        job: toTrainingJob(parent),
        strategy: search.strategy,
        metric: s.metric,
        direction: directionOf(s),
        max_concurrency: s.max_concurrency,
        space: s.space,
        halving: s.halving
          ? {
              budget: s.halving.budget,
              min_budget: s.halving.min_budget,
              max_budget: s.halving.max_budget,
              eta: s.halving.eta,
            }
          : null,
        rungs:
          search.rungs.length > 0 ? search.rungs : [{ configs: plannedTrials(search, trials), budget: null }],
        phase: search.phase,
        trials: trials.map((t) => trialView(t, runs)),
        best_trial: best ? trialView(best, runs) : null,
      };
    },

    /** Cancels the parent (as any job's cancel does) and every trial still queued or running. */
    async cancel(ctx: RequestContext, id: string): Promise<SearchView> {
      await service.get(ctx, id);
      await deps.training.cancel(ctx, id);
      await deps.runner.advance(id, { ctx });
      return service.get(ctx, id);
    },
  };
  return service;
}
export type TuningService = ReturnType<typeof createTuningService>;
