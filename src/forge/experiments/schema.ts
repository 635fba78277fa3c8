import { z } from 'zod';
import { pageQuery } from '../../platform/http/pagination.js';
import { JOB_STATES } from '../jobs/tables.js';
import { experimentName } from './name.js';
import type { ExperimentRow, RunRow } from './repository.js';

/** Tag keys leave out ':' so `?tag=key:value` reads one way. */
const tagKey = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_./-]*$/, "letters, digits, '_', '.', '/' and '-'");
export const tags = z
  .record(tagKey, z.string().max(500))
  .refine((t) => Object.keys(t).length <= 50, 'at most 50 tags');

export const experimentParams = z.object({ experiment_id: z.string().min(1).max(200) });
export const runParams = z.object({ run_id: z.string().min(1).max(100) });

export const createExperimentBody = z.strictObject({
  name: experimentName,
  description: z.string().max(2000).default(''),
  tags: tags.default({}),
});
export type CreateExperimentBody = z.infer<typeof createExperimentBody>;

export const patchExperimentBody = z
  .strictObject({ description: z.string().max(2000).optional(), tags: tags.optional() })
  .refine((b) => b.description !== undefined || b.tags !== undefined, 'give description or tags');
export type PatchExperimentBody = z.infer<typeof patchExperimentBody>;

export const listExperimentsQuery = pageQuery.extend({
  /** Part of the name, case-insensitively. */
  search: z.string().min(1).max(100).optional(),
  /** A user id; admins only (everyone else sees their own experiments). */
  owner: z.string().min(1).max(100).optional(),
});
export type ListExperimentsQuery = z.infer<typeof listExperimentsQuery>;

const repeatable = z
  .union([z.string().max(1000), z.array(z.string().max(1000)).max(20)])
  .transform((v) => (Array.isArray(v) ? v : [v]));

export const listRunsQuery = pageQuery.extend({
  /** Cursors carry the last sort value, which may be a long param value. */
  cursor: z.string().max(4000).optional(),
  /** An experiment id, or the name of one of yours. */
  experiment: z.string().min(1).max(200).optional(),
  status: z.enum(JOB_STATES).optional(),
  /** `key` (the run has the tag) or `key:value`; repeat for all of several. */
  tag: repeatable.optional(),
  /** `metrics.accuracy>0.9`, `params.steps.1.config.C=0.5`, `tags.team='fraud'`, joined with `and`. */
  filter: repeatable.optional(),
  /** `metrics.<name>`, `params.<key>`, created_at, started_at, finished_at or name; then asc or desc. */
  order_by: z.string().max(300).optional(),
  /** A user id; admins only. */
  owner: z.string().min(1).max(100).optional(),
});
export type ListRunsQuery = z.infer<typeof listRunsQuery>;

export const patchRunBody = z.strictObject({
  /** Tags to set; a null value removes the tag. */
  tags: z.record(tagKey, z.string().max(500).nullable()),
});
export type PatchRunBody = z.infer<typeof patchRunBody>;

export const compareQuery = z.object({
  /** 2 to 10 run ids, comma-separated. */
  ids: z
    .string()
    .max(2000)
    .transform((s) => [
      ...new Set(
        s
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean),
      ),
    ])
    .pipe(z.array(z.string().max(100)).min(2, 'give at least two run ids').max(10, 'at most 10 runs')),
});
export type CompareQuery = z.infer<typeof compareQuery>;

export const experimentView = z
  .object({
    id: z.string(),
    name: z.string(),
    description: z.string(),
    tags: z.record(z.string(), z.string()),
    owner_id: z.string(),
    run_count: z.number(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: 'Experiment' });
export type ExperimentView = z.infer<typeof experimentView>;

export const runView = z
  .object({
    id: z.string(),
    experiment_id: z.string(),
    job_id: z.string(),
    name: z.string(),
    status: z.enum(JOB_STATES),
    params: z.record(z.string(), z.unknown()),
    metrics: z.record(z.string(), z.number()),
    tags: z.record(z.string(), z.string()),
    artifacts: z.record(z.string(), z.unknown()),
    owner_id: z.string(),
    created_at: z.string(),
    updated_at: z.string(),
    started_at: z.string().nullable(),
    finished_at: z.string().nullable(),
  })
  .meta({ id: 'ExperimentRun' });
export type RunView = z.infer<typeof runView>;

const points = z.array(z.object({ step: z.number(), value: z.number() }));

export const runDetail = runView
  .extend({
    experiment_name: z.string(),
    /** The job's latest attempt, whose series these are; null before it ran. */
    attempt: z.number().nullable(),
    series: z.array(z.object({ name: z.string(), points })),
  })
  .meta({ id: 'ExperimentRunDetail' });
export type RunDetail = z.infer<typeof runDetail>;

export const runComparison = z
  .object({
    runs: z.array(runView),
    /** Params whose values differ between the runs, one value per run in `runs` order (null: absent). */
    params_diff: z.array(z.object({ key: z.string(), values: z.array(z.unknown()) })),
    /** Params every run has with the same value. */
    params_same: z.record(z.string(), z.unknown()),
    /** Every metric any run has, one value per run (null: absent). */
    metrics: z.array(z.object({ key: z.string(), values: z.array(z.number().nullable()) })),
    /** Series by name, each with the points of every run that reported it, for one chart per name. */
    series: z.array(z.object({ name: z.string(), runs: z.array(z.object({ run_id: z.string(), points })) })),
  })
  .meta({ id: 'ExperimentRunComparison' });
export type RunComparison = z.infer<typeof runComparison>;

const iso = (d: Date | null) => d?.toISOString() ?? null;

export const toExperimentView = (e: ExperimentRow, runCount: number): ExperimentView => ({
  id: e.id,
  name: e.name,
  description: e.description,
  tags: e.tags,
  owner_id: e.ownerId,
  run_count: runCount,
  created_at: e.createdAt.toISOString(),
  updated_at: e.updatedAt.toISOString(),
});

export const toRunView = (x: RunRow): RunView => ({
  id: x.id,
  experiment_id: x.experimentId,
  job_id: x.jobId,
  name: x.name,
  status: x.status,
  params: x.params,
  metrics: x.metrics,
  tags: x.tags,
  artifacts: x.artifacts,
  owner_id: x.ownerId,
  created_at: x.createdAt.toISOString(),
  updated_at: x.updatedAt.toISOString(),
  started_at: iso(x.startedAt),
  finished_at: iso(x.finishedAt),
});
