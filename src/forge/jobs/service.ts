import { z } from 'zod';
import type { Registry } from '../../core/registry/index.js';
import type { AuditService } from '../../hub/audit/service.js';
import type { RequestContext } from '../../hub/auth/principal.js';
import { newId } from '../../hub/auth/tokens.js';
import { type FieldError, ValidationError } from '../../platform/errors.js';
import { decodeCursor, encodeCursor, type Page } from '../../platform/http/pagination.js';
import type { JobDispatch } from '../workers/dispatch.js';
import type { WorkerSettings } from '../workers/settings.js';
import { jobFinished, jobNotFound } from './errors.js';
import type { JobEvents } from './events.js';
import type { DatasetFiles, StepChecker } from './ports.js';
import type { JobRepository, JobRow } from './repository.js';
import {
  type JobLogsPage,
  type JobMetrics,
  type ListJobsQuery,
  type LogsQuery,
  type MetricsQuery,
  type TrainingJob,
  toLogLine,
  toSeries,
  toTrainingJob,
} from './schema.js';
import { type TrainingSpec, targetModelName } from './spec.js';
import { isTerminal } from './state.js';

export interface TrainingServiceDeps {
  repo: JobRepository;
  events: JobEvents;
  dispatch: JobDispatch;
  audit: AuditService;
  datasets: DatasetFiles;
  registry: Pick<Registry, 'repo' | 'access'>;
  checkSteps: StepChecker;
  settings: () => WorkerSettings;
  now: () => Date;
  /** Called with each new job before it is announced (forge/experiments makes it a run). */
  onDispatched?: ((row: JobRow) => Promise<void>) | undefined;
}

/**
 * A new job is not claimable until it is recorded and announced, so job.queued always comes before
 * job.running, even for a worker that polls in between. Should the node die in that moment, the
 * job is simply claimed this much later.
 */
export const HOLD_MS = 30_000;

const isAdmin = (ctx: RequestContext) => ctx.principal?.role === 'admin';

const invalidSpec = (errors: FieldError[]) =>
  new ValidationError(
    `The training spec is not valid: ${errors.map((e) => `${e.path.replace(/^body\./, '')}: ${e.message}`).join('; ')}`,
    errors,
    'invalid_training_spec',
  );

/** Column names of a dataset version's inferred schema, when it has the usual shape. */
function columnsOf(schema: unknown): string[] | null {
  if (!Array.isArray(schema)) return null;
  const names = schema.map((c) => (c as { name?: unknown })?.name);
  return names.every((n) => typeof n === 'string') ? (names as string[]) : null;
}

export function createTrainingService(deps: TrainingServiceDeps) {
  const owned = async (ctx: RequestContext, id: string): Promise<JobRow> => {
    const row = await deps.repo.get(id);
    // Another user's job is "not found", as it would be if it did not exist.
    if (!row || (!isAdmin(ctx) && row.ownerId !== ctx.principal?.userId)) throw jobNotFound();
    return row;
  };

  return {
    /**
     * Checks everything that would make every attempt fail before a job exists: step types and
     * configs, the dataset version and its columns, and the right to add a version to the target
     * model. The stored spec names the dataset by id, so renaming it later changes nothing.
     */
    async dispatch(ctx: RequestContext, spec: TrainingSpec): Promise<TrainingJob> {
      const stepProblems = (await deps.checkSteps(spec)).map((e) => ({ ...e, path: `body.${e.path}` }));
      if (stepProblems.length > 0) throw invalidSpec(stepProblems);
      const dataset = await deps.datasets.fileFor(ctx, spec.dataset_id, spec.dataset_version);
      const problems: FieldError[] = [];
      // An external trainer reads whatever kind of data it was made for (chat data for fine-tuning).
      if (!spec.trainer && dataset.kind !== 'tabular')
        problems.push({
          path: 'body.dataset_id',
          message: `a ${dataset.kind} dataset cannot train a pipeline`,
        });
      const columns = columnsOf(dataset.schema);
      if (columns) {
        if (spec.target && !columns.includes(spec.target))
          problems.push({ path: 'body.target', message: `no column '${spec.target}' in the dataset` });
        spec.features?.forEach((f, i) => {
          if (!columns.includes(f))
            problems.push({ path: `body.features.${i}`, message: `no column '${f}' in the dataset` });
        });
      }
      if (problems.length > 0) throw invalidSpec(problems);
      const modelName = targetModelName(spec);
      if (await deps.registry.repo.modelByIdOrName(modelName))
        await deps.registry.access.writable(ctx, modelName);

      const s = deps.settings();
      const now = deps.now();
      const stored: TrainingSpec = { ...spec, dataset_id: dataset.datasetId };
      const row = await deps.repo.insert({
        id: newId(),
        name: spec.name,
        ownerId: ctx.principal!.userId,
        spec: stored as unknown as Record<string, unknown>,
        state: 'queued',
        message: 'Queued',
        priority: spec.priority,
        maxAttempts: spec.resources.max_attempts ?? s.max_attempts,
        timeoutSeconds: spec.resources.timeout_seconds ?? s.default_timeout_seconds,
        // Held back until announced (see HOLD_MS).
        nextAttemptAt: new Date(now.getTime() + HOLD_MS),
        createdAt: now,
        updatedAt: now,
      });
      await deps.onDispatched?.(row);
      await deps.audit.record(ctx, {
        action: 'training.dispatch',
        targetType: 'training_job',
        targetId: row.id,
        details: {
          name: row.name,
          dataset_id: dataset.datasetId,
          dataset_version: spec.dataset_version,
          model: modelName,
        },
      });
      await deps.events.job(row, 'job.queued');
      const ready = (await deps.repo.unhold(row.id, deps.now())) ?? row;
      deps.dispatch.announce(row.id);
      return toTrainingJob(ready);
    },

    async get(ctx: RequestContext, id: string): Promise<TrainingJob> {
      return toTrainingJob(await owned(ctx, id));
    },

    /** Newest first. Everyone sees their own jobs; admins see all, or one user's with `owner`. */
    async list(ctx: RequestContext, q: ListJobsQuery): Promise<Page<TrainingJob>> {
      const before = decodeCursor(q.cursor, z.object({ at: z.string(), id: z.string() }));
      const rows = await deps.repo.list({
        owner: isAdmin(ctx) ? q.owner : ctx.principal!.userId,
        state: q.state,
        before: before ? { at: new Date(before.at), id: before.id } : undefined,
        limit: q.limit,
      });
      const page = rows.slice(0, q.limit);
      const last = page[page.length - 1];
      return {
        items: page.map(toTrainingJob),
        next_cursor:
          rows.length > q.limit && last
            ? encodeCursor({ at: last.createdAt.toISOString(), id: last.id })
            : null,
      };
    },

    /** Lines after `after` (a line id), oldest first; `next_after` is where to resume, null at the end. */
    async logs(ctx: RequestContext, id: string, q: LogsQuery): Promise<JobLogsPage> {
      await owned(ctx, id);
      const rows = await deps.repo.logs(id, q.after, q.limit);
      const page = rows.slice(0, q.limit);
      return {
        items: page.map(toLogLine),
        next_after: rows.length > q.limit ? (page[page.length - 1]?.id ?? null) : null,
      };
    },

    async metrics(ctx: RequestContext, id: string, q: MetricsQuery): Promise<JobMetrics> {
      const row = await owned(ctx, id);
      const attempt = q.attempt ?? (row.attempts > 0 ? row.attempts : null);
      const points = attempt === null ? [] : await deps.repo.metrics(id, attempt, q.name);
      return { job_id: id, attempt, summary: row.metrics, series: toSeries(points) };
    },

    /**
     * A queued job is cancelled at once; a running one is marked cancelled and its trainer is
     * killed by whichever node runs it (within a second here, by the next heartbeat elsewhere).
     * Cancelling twice answers the cancelled job; a job that ended otherwise is a conflict.
     */
    async cancel(ctx: RequestContext, id: string): Promise<TrainingJob> {
      const row = await owned(ctx, id);
      if (row.state === 'cancelled') return toTrainingJob(row);
      if (isTerminal(row.state)) throw jobFinished(row.state);
      const after = await deps.repo.cancel(id, deps.now());
      if (!after) return this.cancel(ctx, id);
      // Also when it looked queued: a worker may have claimed it in between.
      await deps.events.stopJob(id);
      await deps.audit.record(ctx, {
        action: 'training.cancel',
        targetType: 'training_job',
        targetId: id,
        details: { name: row.name, state: row.state },
      });
      await deps.events.job(after, 'job.cancelled');
      return toTrainingJob(after);
    },
  };
}
export type TrainingService = ReturnType<typeof createTrainingService>;
