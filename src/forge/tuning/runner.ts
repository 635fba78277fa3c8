import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { RequestContext } from '../../hub/auth/principal.js';
import { newId } from '../../hub/auth/tokens.js';
import type { UserRow } from '../../hub/users/repository.js';
import { AppError } from '../../platform/errors.js';
import type { JobEvents } from '../jobs/events.js';
import type { JobRegistration } from '../jobs/register.js';
import type { JobRepository, JobRow } from '../jobs/repository.js';
import type { TrainingService } from '../jobs/service.js';
import { type TrainingSpec, trainingSpec } from '../jobs/spec.js';
import { estimateEta, isTerminal } from '../jobs/state.js';
import { bestTrial, type Direction, promote } from './halving.js';
import { ownerContext } from './owner.js';
import type { SearchRow, TrialRow, TuningRepository } from './repository.js';
import { defaultDirection, type SearchSection, trialSpec } from './spec.js';
import type { TrialState } from './tables.js';

/** A node that took a slot and died before dispatching gives it back after this long. */
const STALE_DISPATCH_MS = 120_000;
/** A node that took the finishing step and died before ending it is relieved after this long. */
const STALE_FINISH_MS = 300_000;

const DONE: TrialState[] = ['succeeded', 'failed', 'cancelled'];
const done = (t: TrialRow) => DONE.includes(t.state);

export interface SearchRunnerDeps {
  repo: TuningRepository;
  jobs: Pick<JobRepository, 'get'>;
  training: Pick<TrainingService, 'dispatch' | 'cancel'>;
  registration: Pick<JobRegistration, 'existing' | 'register'>;
  experiments: {
    annotateJob(
      jobId: string,
      add: { tags?: Record<string, string>; artifacts?: Record<string, unknown> },
    ): Promise<unknown>;
  };
  events: Pick<JobEvents, 'job'>;
  users: { byId(id: string): Promise<UserRow | undefined> };
  outputsDir: string;
  log: Logger;
  now: () => Date;
}

export const settingsOf = (s: SearchRow) => s.search as unknown as SearchSection;
export const directionOf = (s: SearchSection): Direction => s.direction ?? defaultDirection(s.metric);

/** The spec every trial starts from: the parent's, less its search section. */
export function baseSpecOf(parent: JobRow): TrainingSpec {
  const { search: _, ...base } = parent.spec;
  return trainingSpec.parse(base);
}

const metricOf = (metrics: Record<string, unknown>, name: string): number | null => {
  const v = metrics[name];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
};

/** Planned trials: every rung's configurations (a rung that promotes fewer ends up with fewer). */
export const plannedTrials = (s: SearchRow, trials: TrialRow[]) =>
  s.strategy === 'successive_halving' ? s.rungs.reduce((n, r) => n + r.configs, 0) : trials.length;

/**
 * Moves searches on. Each step re-reads the search, its trials and their jobs, so it is safe to
 * run for any reason, on any node, any number of times: it records trials whose jobs ended,
 * promotes successive halving's best to the next rung, dispatches pending trials into free
 * concurrency slots, reports progress on the parent job, and once every trial has ended registers
 * the best trial's pipeline as the parent's result. Steps of one search never overlap in a process.
 */
export function createSearchRunner(deps: SearchRunnerDeps) {
  const chains = new Map<string, Promise<void>>();
  const locked = (id: string, fn: () => Promise<void>): Promise<void> => {
    const run = (chains.get(id) ?? Promise.resolve()).then(fn);
    const settled: Promise<void> = run
      .catch(() => undefined)
      .finally(() => {
        if (chains.get(id) === settled) chains.delete(id);
      });
    chains.set(id, settled);
    return run;
  };

  const cleanup = async (trials: TrialRow[]) => {
    for (const t of trials)
      if (t.jobId)
        await rm(join(deps.outputsDir, t.jobId), { recursive: true, force: true }).catch(() => undefined);
  };

  /** Records trials whose job ended; a job that succeeded without the metric counts as failed. */
  async function collect(search: SearchRow, trials: TrialRow[]) {
    const metric = settingsOf(search).metric;
    for (const t of trials) {
      if (t.state !== 'active' || !t.jobId) continue;
      const job = await deps.jobs.get(t.jobId);
      if (job && !isTerminal(job.state)) continue;
      const value = job?.state === 'succeeded' ? metricOf(job.metrics, metric) : null;
      const state: TrialState = !job
        ? 'failed'
        : job.state === 'succeeded' && value === null
          ? 'failed'
          : (job.state as TrialState);
      const error = !job
        ? { code: 'training_job_not_found', message: 'The trial’s job no longer exists' }
        : job.state === 'succeeded' && value === null
          ? { code: 'metric_missing', message: `The job reported no numeric '${metric}'` }
          : job.error
            ? { code: job.error.code, message: job.error.message }
            : null;
      await deps.repo.updateTrial(t.id, ['active'], { state, metric: value, error }, deps.now());
    }
  }

  /** When the current rung has ended, its best go on to the next with its budget; false if none do. */
  async function maybePromote(search: SearchRow, trials: TrialRow[]): Promise<boolean> {
    const s = settingsOf(search);
    const r = search.rung;
    const next = search.rungs[r + 1];
    const current = trials.filter((t) => t.rung === r);
    if (!next || !s.halving || current.length === 0 || !current.every(done)) return false;
    const chosen = promote(current, next.configs, directionOf(s));
    if (chosen.length === 0) return false;
    let number = Math.max(...trials.map((t) => t.number));
    const now = deps.now();
    return deps.repo.promote(
      search.jobId,
      r,
      chosen.map((t) => ({
        id: newId(),
        searchId: search.jobId,
        number: ++number,
        configIndex: t.configIndex,
        rung: r + 1,
        params: { ...t.params, [s.halving!.budget]: next.budget },
        createdAt: now,
        updatedAt: now,
      })),
      now,
    );
  }

  /**
   * Dispatches pending trials while slots are free. With `strict`, a refusal of the very first
   * trial (the dataset went away, the model is not writable) is thrown for the caller to undo the
   * search; otherwise a refused trial fails and the next one is tried.
   */
  async function dispatchFree(search: SearchRow, parent: JobRow, ctx: RequestContext, strict: boolean) {
    const s = settingsOf(search);
    const base = baseSpecOf(parent);
    let dispatched = 0;
    for (;;) {
      const t = await deps.repo.claimTrial(search.jobId, s.max_concurrency, deps.now());
      if (!t) return;
      let jobId: string;
      try {
        jobId = (await deps.training.dispatch(ctx, trialSpec(base, t.params, t.number))).job_id;
      } catch (err) {
        const refused = err instanceof AppError && err.status < 500;
        await deps.repo.updateTrial(
          t.id,
          ['dispatching'],
          refused
            ? { state: 'failed', error: { code: err.code, message: err.message } }
            : { state: 'pending' },
          deps.now(),
        );
        if (!refused || (strict && dispatched === 0)) throw err;
        continue;
      }
      dispatched++;
      const kept = await deps.repo.updateTrial(t.id, ['dispatching'], { state: 'active', jobId }, deps.now());
      // The search was cancelled on another node meanwhile: this job must not run either.
      if (!kept) await deps.training.cancel(ctx, jobId).catch(() => undefined);
      await deps.experiments.annotateJob(jobId, {
        tags: {
          'polar.search_job_id': search.jobId,
          'polar.trial': String(t.number),
          ...(s.halving ? { 'polar.rung': String(t.rung) } : {}),
        },
      });
    }
  }

  async function progress(search: SearchRow, parent: JobRow, trials: TrialRow[]) {
    const s = settingsOf(search);
    const planned = Math.max(plannedTrials(search, trials), trials.length);
    const finished = trials.filter(done).length;
    const best = bestTrial(trials, directionOf(s));
    const bestJob = best?.jobId ? await deps.jobs.get(best.jobId) : undefined;
    const message =
      `${finished} of ${planned} trials done` +
      (best?.metric != null ? `; best ${s.metric} ${best.metric.toPrecision(4)} (trial ${best.number})` : '');
    const fraction = planned > 0 ? finished / planned : 0;
    if (message === parent.message && Math.abs(parent.progress - fraction * 100) < 0.01) return;
    const started = parent.startedAt ?? parent.createdAt;
    const row = await deps.repo.updateParent(
      parent.id,
      {
        progress: fraction * 100,
        etaSeconds: estimateEta(fraction, deps.now().getTime() - started.getTime()),
        message,
        metrics: bestJob?.metrics ?? {},
      },
      deps.now(),
    );
    if (row) await deps.events.job(row, 'job.progress');
  }

  async function fail(search: SearchRow, trials: TrialRow[], code: string, message: string) {
    await cleanup(trials);
    const now = deps.now();
    const row = await deps.repo.updateParent(
      search.jobId,
      {
        state: 'failed',
        error: { code, message, transient: false },
        message: `Failed: ${code}`,
        etaSeconds: null,
        finishedAt: now,
      },
      now,
    );
    await deps.repo.setPhase(search.jobId, 'done', now);
    if (row) await deps.events.job(row, 'job.failed');
  }

  /** Registers the best trial's pipeline under the parent job (once: the registry keys it by job id). */
  async function finish(search: SearchRow, parent: JobRow, trials: TrialRow[], ctx: RequestContext) {
    if (!(await deps.repo.takeFinishing(search.jobId, deps.now(), STALE_FINISH_MS))) return;
    const s = settingsOf(search);
    const best = bestTrial(trials, directionOf(s));
    const bestJob = best?.jobId ? await deps.jobs.get(best.jobId) : undefined;
    if (!best || !bestJob) {
      const first = trials.find((t) => t.error)?.error;
      return fail(
        search,
        trials,
        'no_successful_trial',
        `No trial succeeded with a '${s.metric}'${first ? ` (first error: ${first.code}: ${first.message})` : ''}`,
      );
    }
    const base = baseSpecOf(parent);
    try {
      const result =
        (await deps.registration.existing(base, parent.id)) ??
        (await deps.registration.register(ctx, {
          jobId: parent.id,
          spec: base,
          datasetId: String(bestJob.spec.dataset_id),
          outputDir: join(deps.outputsDir, bestJob.id),
          metrics: bestJob.metrics,
          trialJobId: bestJob.id,
        }));
      await deps.experiments.annotateJob(bestJob.id, {
        tags: { 'polar.best_trial': 'true' },
        artifacts: { model: { id: result.model_id, name: result.model_name, version: result.version } },
      });
      // Registered: the trials' pipelines are no longer needed, and are gone before anyone sees the end.
      await cleanup(trials);
      const now = deps.now();
      // A cancel that came while registering wins the parent's state; the version stays registered.
      const row = await deps.repo.updateParent(
        parent.id,
        {
          state: 'succeeded',
          progress: 100,
          etaSeconds: 0,
          message: `Best: trial ${best.number} (${s.metric} ${best.metric?.toPrecision(4)}), registered as version ${result.version} of ${result.model_name}`,
          metrics: bestJob.metrics,
          result,
          error: null,
          finishedAt: now,
        },
        now,
      );
      await deps.repo.setPhase(search.jobId, 'done', now, best.id);
      if (row) await deps.events.job(row, 'job.succeeded');
    } catch (err) {
      if (err instanceof AppError && err.status < 500) return fail(search, trials, err.code, err.message);
      // Possibly passing (storage, database): the next step tries again.
      await deps.repo.setPhase(search.jobId, 'searching', deps.now());
      throw err;
    }
  }

  /** The parent ended otherwise (cancelled): nothing more runs, and running trials are cancelled. */
  async function stop(search: SearchRow, ctx: () => Promise<RequestContext>) {
    const now = deps.now();
    await deps.repo.cancelWaiting(search.jobId, now);
    for (const t of await deps.repo.trials(search.jobId)) {
      if (t.state !== 'active' || !t.jobId) continue;
      await deps.training.cancel(await ctx(), t.jobId).catch(() => undefined);
      const job = await deps.jobs.get(t.jobId);
      const state: TrialState = job && isTerminal(job.state) ? (job.state as TrialState) : 'cancelled';
      await deps.repo.updateTrial(t.id, ['active'], { state }, deps.now());
    }
    await deps.repo.setPhase(search.jobId, 'done', deps.now());
    await cleanup(await deps.repo.trials(search.jobId));
  }

  async function step(id: string, callerCtx: RequestContext | undefined, strict: boolean) {
    const search = await deps.repo.search(id);
    if (!search || search.phase === 'done') return;
    const parent = await deps.jobs.get(id);
    if (!parent) return;
    let ctx = callerCtx;
    const owner = async () => {
      ctx ??= await ownerContext(deps.users, search.ownerId, id);
      return ctx;
    };
    if (parent.state !== 'running') return stop(search, owner);
    await collect(search, await deps.repo.trials(id));
    await deps.repo.releaseStaleDispatching(
      id,
      new Date(deps.now().getTime() - STALE_DISPATCH_MS),
      deps.now(),
    );
    let trials = await deps.repo.trials(id);
    if (search.strategy === 'successive_halving' && (await maybePromote(search, trials)))
      trials = await deps.repo.trials(id);
    const ended = () => trials.length > 0 && trials.every(done);
    if (!ended() && !trials.some((t) => t.state === 'pending')) return progress(search, parent, trials);
    let c: RequestContext;
    try {
      c = await owner();
    } catch (err) {
      // The owner's account was disabled or deleted: the search cannot go on as them.
      if (err instanceof AppError && err.status < 500) return fail(search, trials, err.code, err.message);
      throw err;
    }
    if (!ended()) {
      await dispatchFree(search, parent, c, strict);
      trials = await deps.repo.trials(id);
    }
    // Every trial may have ended at once (all refused at dispatch).
    if (ended()) return finish(search, parent, trials, c);
    await progress(search, parent, trials);
  }

  return {
    /** Moves a search on; `ctx` is the caller's when a request triggered it (its audit request id). */
    advance(id: string, opts: { ctx?: RequestContext; strict?: boolean } = {}): Promise<void> {
      return locked(id, () => step(id, opts.ctx, opts.strict ?? false));
    },
    /** Waits for every step in progress (shutdown). */
    async idle(): Promise<void> {
      while (chains.size > 0) await Promise.all(chains.values());
    },
  };
}
export type SearchRunner = ReturnType<typeof createSearchRunner>;
