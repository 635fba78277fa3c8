import { z } from 'zod';
import type { AuditService } from '../../hub/audit/service.js';
import type { RequestContext } from '../../hub/auth/principal.js';
import { newId } from '../../hub/auth/tokens.js';
import { ValidationError } from '../../platform/errors.js';
import { decodeCursor, encodeCursor, type Page } from '../../platform/http/pagination.js';
import type { JobRepository, JobRow } from '../jobs/repository.js';
import { toSeries } from '../jobs/schema.js';
import { experimentBusy, experimentNameTaken, experimentNotFound, runNotFound } from './errors.js';
import { type OrderBy, parseFilter, parseOrderBy, parseTag } from './filter.js';
import { numericMetrics } from './flatten.js';
import { DEFAULT_EXPERIMENT } from './name.js';
import { paramsOf } from './params.js';
import type { ExperimentRepository, ExperimentRow, RunRow } from './repository.js';
import {
  type CreateExperimentBody,
  type ExperimentView,
  type ListExperimentsQuery,
  type ListRunsQuery,
  type PatchExperimentBody,
  type PatchRunBody,
  type RunComparison,
  type RunDetail,
  type RunView,
  toExperimentView,
  toRunView,
} from './schema.js';
import type { Tags } from './tables.js';

export interface ExperimentServiceDeps {
  repo: ExperimentRepository;
  jobs: Pick<JobRepository, 'get' | 'metrics'>;
  audit: AuditService;
  now: () => Date;
}

const isAdmin = (ctx: RequestContext) => ctx.principal?.role === 'admin';
const userOf = (ctx: RequestContext) => ctx.principal!.userId;
const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** What a run mirrors of its job. */
function fromJob(job: JobRow) {
  return {
    name: job.name,
    status: job.state,
    metrics: numericMetrics(job.metrics),
    startedAt: job.startedAt,
    finishedAt: job.finishedAt,
  };
}

/** The model version a job registered, as a run artifact. */
const artifactsOf = (job: JobRow): Record<string, unknown> =>
  job.result
    ? { model: { id: job.result.model_id, name: job.result.model_name, version: job.result.version } }
    : {};

const cursorShape = z.object({ nil: z.boolean(), v: z.unknown(), id: z.string() });

function sortValueOf(run: RunRow, o: OrderBy): unknown {
  if (o.field === 'metrics') return run.metrics[o.key];
  if (o.field === 'params') return run.params[o.key];
  if (o.field === 'name') return run.name;
  const d = { created_at: run.createdAt, started_at: run.startedAt, finished_at: run.finishedAt }[o.field];
  return d ? d.toISOString() : undefined;
}

export function createExperimentService(deps: ExperimentServiceDeps) {
  /** An experiment the caller may see: by id (theirs, or any for admins), else by name among theirs. */
  const visible = async (ctx: RequestContext, idOrName: string): Promise<ExperimentRow> => {
    const byId = await deps.repo.experiment(idOrName);
    if (byId && (isAdmin(ctx) || byId.ownerId === userOf(ctx))) return byId;
    const byName = await deps.repo.experimentByName(userOf(ctx), idOrName);
    // Another user's experiment is "not found", as it would be if it did not exist.
    if (!byName) throw experimentNotFound();
    return byName;
  };
  const visibleRun = async (ctx: RequestContext, id: string): Promise<RunRow> => {
    const run = await deps.repo.run(id);
    if (!run || (!isAdmin(ctx) && run.ownerId !== userOf(ctx))) throw runNotFound();
    return run;
  };
  const ensureExperiment = async (ownerId: string, name: string): Promise<ExperimentRow> => {
    const now = deps.now();
    const made = await deps.repo.insertExperiment({
      id: newId(),
      ownerId,
      name,
      createdAt: now,
      updatedAt: now,
    });
    const row = made ?? (await deps.repo.experimentByName(ownerId, name));
    if (!row) throw new Error(`experiment '${name}' neither created nor found`);
    return row;
  };
  const seriesOf = async (run: RunRow) => {
    const job = await deps.jobs.get(run.jobId);
    const attempt = job && job.attempts > 0 ? job.attempts : null;
    return { attempt, series: attempt === null ? [] : toSeries(await deps.jobs.metrics(run.jobId, attempt)) };
  };

  const service = {
    /**
     * Makes a job a run of the experiment its spec names (`default` when none), created for the
     * job's owner on first use. A job has one run: a second call answers the first.
     */
    async recordJob(job: JobRow): Promise<RunRow> {
      const existing = await deps.repo.runOfJob(job.id);
      if (existing) return existing;
      const named = typeof job.spec.experiment === 'string' ? job.spec.experiment : DEFAULT_EXPERIMENT;
      const experiment = await ensureExperiment(job.ownerId, named);
      const now = deps.now();
      return deps.repo.insertRun({
        id: newId(),
        experimentId: experiment.id,
        ownerId: job.ownerId,
        jobId: job.id,
        params: await paramsOf(job.spec),
        artifacts: artifactsOf(job),
        createdAt: job.createdAt,
        updatedAt: now,
        ...fromJob(job),
      });
    },

    /**
     * Brings a job's run up to date with the job row as it is now (never with an event's copy, which
     * may be older than one already applied). Artifacts only grow: a search marks its best trial's.
     */
    async syncJob(jobId: string): Promise<RunRow | undefined> {
      const job = await deps.jobs.get(jobId);
      if (!job) return undefined;
      const run = await service.recordJob(job);
      const set = fromJob(job);
      const artifacts = { ...run.artifacts, ...artifactsOf(job) };
      const changed =
        run.status !== set.status ||
        run.name !== set.name ||
        !sameJson(run.metrics, set.metrics) ||
        !sameJson(run.artifacts, artifacts) ||
        run.startedAt?.getTime() !== set.startedAt?.getTime() ||
        run.finishedAt?.getTime() !== set.finishedAt?.getTime();
      return changed ? deps.repo.updateRun(run.id, { ...set, artifacts }, deps.now()) : run;
    },

    /** The run of each job that has one (a search lists its trials' runs). */
    runIdsOfJobs(jobIds: string[]): Promise<Map<string, string>> {
      return deps.repo.runIdsOfJobs(jobIds);
    },

    /** Adds tags and artifacts to a job's run (a search labels its trials and its best one). */
    async annotateJob(jobId: string, add: { tags?: Tags; artifacts?: Record<string, unknown> }) {
      return deps.repo.mergeIntoRunOfJob(jobId, add, deps.now());
    },

    async createExperiment(ctx: RequestContext, body: CreateExperimentBody): Promise<ExperimentView> {
      const now = deps.now();
      const row = await deps.repo.insertExperiment({
        id: newId(),
        ownerId: userOf(ctx),
        name: body.name,
        description: body.description,
        tags: body.tags,
        createdAt: now,
        updatedAt: now,
      });
      if (!row) throw experimentNameTaken(body.name);
      await deps.audit.record(ctx, {
        action: 'experiment.create',
        targetType: 'experiment',
        targetId: row.id,
        details: { name: row.name },
      });
      return toExperimentView(row, 0);
    },

    /** Newest first: your own experiments; admins see all, or one user's with `owner`. */
    async listExperiments(ctx: RequestContext, q: ListExperimentsQuery): Promise<Page<ExperimentView>> {
      const before = decodeCursor(q.cursor, z.object({ at: z.string(), id: z.string() }));
      const rows = await deps.repo.listExperiments({
        owner: isAdmin(ctx) ? q.owner : userOf(ctx),
        search: q.search,
        before: before ? { at: new Date(before.at), id: before.id } : undefined,
        limit: q.limit,
      });
      const page = rows.slice(0, q.limit);
      const last = page[page.length - 1];
      return {
        items: page.map((e) => toExperimentView(e, e.runCount)),
        next_cursor:
          rows.length > q.limit && last
            ? encodeCursor({ at: last.createdAt.toISOString(), id: last.id })
            : null,
      };
    },

    async getExperiment(ctx: RequestContext, idOrName: string): Promise<ExperimentView> {
      const e = await visible(ctx, idOrName);
      return toExperimentView(e, (await deps.repo.runCount(e.id)).total);
    },

    async patchExperiment(ctx: RequestContext, idOrName: string, body: PatchExperimentBody) {
      const e = await visible(ctx, idOrName);
      const row = await deps.repo.updateExperiment(e.id, body, deps.now());
      if (!row) throw experimentNotFound();
      return toExperimentView(row, (await deps.repo.runCount(e.id)).total);
    },

    /**
     * Deletes an experiment and its runs. The training jobs, their logs and metric series and the
     * model versions they registered stay: a run is a view over a job. An experiment with an active
     * run is refused, so a job never ends in an experiment that no longer exists.
     */
    async deleteExperiment(ctx: RequestContext, idOrName: string): Promise<void> {
      const e = await visible(ctx, idOrName);
      if (!(await deps.repo.deleteExperiment(e.id))) {
        const { active } = await deps.repo.runCount(e.id);
        if (active > 0) throw experimentBusy(active);
        throw experimentNotFound();
      }
      await deps.audit.record(ctx, {
        action: 'experiment.delete',
        targetType: 'experiment',
        targetId: e.id,
        details: { name: e.name },
      });
    },

    async listRuns(ctx: RequestContext, q: ListRunsQuery): Promise<Page<RunView>> {
      const order = parseOrderBy(q.order_by);
      const clauses = (q.filter ?? []).flatMap(parseFilter);
      const tagFilters = (q.tag ?? []).map(parseTag);
      const experiment = q.experiment ? await visible(ctx, q.experiment) : undefined;
      const after = decodeCursor(q.cursor, cursorShape);
      const rows = await deps.repo.listRuns({
        owner: isAdmin(ctx) ? q.owner : userOf(ctx),
        experimentId: experiment?.id,
        status: q.status,
        tags: tagFilters,
        clauses,
        order,
        after: after ? { nil: after.nil, v: after.v, id: after.id } : undefined,
        limit: q.limit,
      });
      const page = rows.slice(0, q.limit);
      const last = page[page.length - 1];
      let next: string | null = null;
      if (rows.length > q.limit && last) {
        const v = sortValueOf(last, order);
        next = encodeCursor({ nil: v === undefined, v: v ?? null, id: last.id });
      }
      return { items: page.map(toRunView), next_cursor: next };
    },

    async getRun(ctx: RequestContext, id: string): Promise<RunDetail> {
      const run = await visibleRun(ctx, id);
      const experiment = await deps.repo.experiment(run.experimentId);
      return {
        ...toRunView(run),
        experiment_name: experiment?.name ?? '',
        ...(await seriesOf(run)),
      };
    },

    async patchRun(ctx: RequestContext, id: string, body: PatchRunBody): Promise<RunView> {
      const run = await visibleRun(ctx, id);
      const tags: Tags = { ...run.tags };
      for (const [k, v] of Object.entries(body.tags)) {
        if (v === null) delete tags[k];
        else tags[k] = v;
      }
      if (Object.keys(tags).length > 50)
        throw new ValidationError(
          'A run has at most 50 tags',
          [{ path: 'body.tags', message: 'at most 50 tags' }],
          'too_many_tags',
        );
      const row = await deps.repo.updateRun(run.id, { tags }, deps.now());
      if (!row) throw runNotFound();
      return toRunView(row);
    },

    /**
     * Runs side by side: params that differ (and those that do not), every metric per run, and the
     * series grouped by name for overlaid charts. Runs may come from different experiments.
     */
    async compare(ctx: RequestContext, ids: string[]): Promise<RunComparison> {
      const found = new Map((await deps.repo.runs(ids)).map((x) => [x.id, x]));
      const runs: RunRow[] = [];
      for (const id of ids) {
        const run = found.get(id);
        if (!run || (!isAdmin(ctx) && run.ownerId !== userOf(ctx))) throw runNotFound();
        runs.push(run);
      }
      const paramKeys = [...new Set(runs.flatMap((x) => Object.keys(x.params)))].sort();
      const paramsDiff: RunComparison['params_diff'] = [];
      const paramsSame: RunComparison['params_same'] = {};
      for (const key of paramKeys) {
        const values = runs.map((x) => (key in x.params ? x.params[key] : null));
        const present = runs.every((x) => key in x.params);
        if (present && values.every((v) => sameJson(v, values[0]))) paramsSame[key] = values[0];
        else paramsDiff.push({ key, values });
      }
      const metricKeys = [...new Set(runs.flatMap((x) => Object.keys(x.metrics)))].sort();
      const series = new Map<string, { run_id: string; points: { step: number; value: number }[] }[]>();
      for (const run of runs)
        for (const s of (await seriesOf(run)).series)
          series.set(s.name, [...(series.get(s.name) ?? []), { run_id: run.id, points: s.points }]);
      return {
        runs: runs.map(toRunView),
        params_diff: paramsDiff,
        params_same: paramsSame,
        metrics: metricKeys.map((key) => ({ key, values: runs.map((x) => x.metrics[key] ?? null) })),
        series: [...series].map(([name, r]) => ({ name, runs: r })),
      };
    },
  };
  return service;
}
export type ExperimentService = ReturnType<typeof createExperimentService>;
