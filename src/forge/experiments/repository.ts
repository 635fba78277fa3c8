import { and, asc, count, desc, eq, inArray, lt, or, type SQL, sql } from 'drizzle-orm';
import type { Db } from '../../platform/db/client.js';
import { ACTIVE } from '../jobs/state.js';
import type { JobState } from '../jobs/tables.js';
import type { Clause, OrderBy } from './filter.js';
import { experimentRuns, experiments, type Tags } from './tables.js';

export type ExperimentRow = typeof experiments.$inferSelect;
export type RunRow = typeof experimentRuns.$inferSelect;
export type NewRun = typeof experimentRuns.$inferInsert;

/** Where a page of runs starts: the sort value of the last run seen (`nil`: it had none) and its id. */
export interface RunCursor {
  nil: boolean;
  v: unknown;
  id: string;
}

export interface RunQuery {
  owner?: string | undefined;
  experimentId?: string | undefined;
  status?: JobState | undefined;
  tags: { key: string; value?: string | undefined }[];
  clauses: Clause[];
  order: OrderBy;
  after?: RunCursor | undefined;
  limit: number;
}

const r = experimentRuns;

/** The sort expression: a jsonb value for metrics and params, a column otherwise. */
function sortExpr(o: OrderBy): SQL {
  if (o.field === 'metrics') return sql`(${r.metrics} -> ${o.key}::text)`;
  if (o.field === 'params') return sql`(${r.params} -> ${o.key}::text)`;
  const col = { created_at: r.createdAt, started_at: r.startedAt, finished_at: r.finishedAt, name: r.name }[
    o.field
  ];
  return sql`${col}`;
}

/** A cursor value as SQL of the sort expression's type. */
function sortValue(o: OrderBy, v: unknown): SQL {
  if (o.field === 'metrics' || o.field === 'params') return sql`${JSON.stringify(v)}::jsonb`;
  if (o.field === 'name') return sql`${String(v)}::text`;
  return sql`${String(v)}::timestamptz`;
}

const number = (json: SQL) =>
  sql`(case when jsonb_typeof(${json}) = 'number' then (${json} #>> '{}')::float8 end)`;

function clauseSql(c: Clause): SQL {
  // Operators come from a closed list (filter.ts), never from the request text itself.
  const op = sql.raw(c.op === '!=' ? '<>' : c.op);
  if (c.field === 'tags')
    return c.op === '='
      ? sql`(${r.tags} ->> ${c.key}::text) = ${c.value}::text`
      : sql`(${r.tags} ->> ${c.key}::text) is distinct from ${c.value}::text`;
  const json = sql`(${c.field === 'metrics' ? r.metrics : r.params} -> ${c.key}::text)`;
  if (typeof c.value === 'number') return sql`${number(json)} ${op} ${c.value}::float8`;
  return sql`${json} ${op} ${JSON.stringify(c.value)}::jsonb`;
}

/** Rows after the cursor in `ORDER BY e <dir> NULLS LAST, id <dir>`. */
function afterCursor(o: OrderBy, c: RunCursor): SQL {
  const e = sortExpr(o);
  const beyond = sql.raw(o.desc ? '<' : '>');
  const id = sql`${r.id} ${beyond} ${c.id}`;
  if (c.nil) return sql`(${e} is null and ${id})`;
  const v = sortValue(o, c.v);
  return sql`(${e} ${beyond} ${v} or (${e} = ${v} and ${id}) or ${e} is null)`;
}

export function createExperimentRepository(db: Db) {
  return {
    async insertExperiment(row: typeof experiments.$inferInsert): Promise<ExperimentRow | undefined> {
      const [e] = await db.insert(experiments).values(row).onConflictDoNothing().returning();
      return e;
    },

    async experiment(id: string): Promise<ExperimentRow | undefined> {
      const [e] = await db.select().from(experiments).where(eq(experiments.id, id));
      return e;
    },

    async experimentByName(ownerId: string, name: string): Promise<ExperimentRow | undefined> {
      const [e] = await db
        .select()
        .from(experiments)
        .where(and(eq(experiments.ownerId, ownerId), sql`lower(${experiments.name}) = lower(${name})`));
      return e;
    },

    /** Newest first, each with its number of runs. */
    async listExperiments(f: {
      owner?: string | undefined;
      search?: string | undefined;
      before?: { at: Date; id: string } | undefined;
      limit: number;
    }): Promise<(ExperimentRow & { runCount: number })[]> {
      const where: (SQL | undefined)[] = [];
      if (f.owner) where.push(eq(experiments.ownerId, f.owner));
      if (f.search) where.push(sql`strpos(lower(${experiments.name}), lower(${f.search})) > 0`);
      if (f.before)
        where.push(
          or(
            lt(experiments.createdAt, f.before.at),
            and(eq(experiments.createdAt, f.before.at), lt(experiments.id, f.before.id)),
          ),
        );
      const runs = db
        .select({ experimentId: r.experimentId, n: count().as('n') })
        .from(r)
        .groupBy(r.experimentId)
        .as('runs');
      const rows = await db
        .select({ e: experiments, n: runs.n })
        .from(experiments)
        .leftJoin(runs, eq(runs.experimentId, experiments.id))
        .where(and(...where))
        .orderBy(desc(experiments.createdAt), desc(experiments.id))
        .limit(f.limit + 1);
      return rows.map((x) => ({ ...x.e, runCount: Number(x.n ?? 0) }));
    },

    async runCount(experimentId: string): Promise<{ total: number; active: number }> {
      const [c] = await db
        .select({
          total: count(),
          active: sql<number>`count(*) filter (where ${inArray(r.status, [...ACTIVE])})`,
        })
        .from(r)
        .where(eq(r.experimentId, experimentId));
      return { total: Number(c?.total ?? 0), active: Number(c?.active ?? 0) };
    },

    async updateExperiment(
      id: string,
      set: { description?: string | undefined; tags?: Tags | undefined },
      now: Date,
    ): Promise<ExperimentRow | undefined> {
      const [e] = await db
        .update(experiments)
        .set({ ...set, updatedAt: now })
        .where(eq(experiments.id, id))
        .returning();
      return e;
    },

    /** Deletes the experiment and its runs, unless a run is still active (then nothing, false). */
    async deleteExperiment(id: string): Promise<boolean> {
      const res = await db
        .delete(experiments)
        .where(
          and(
            eq(experiments.id, id),
            sql`not exists (select 1 from ${r} where ${r.experimentId} = ${id} and ${inArray(r.status, [...ACTIVE])})`,
          ),
        )
        .returning({ id: experiments.id });
      return res.length > 0;
    },

    /** Inserts the run of a job unless it has one; answers the job's run either way. */
    async insertRun(row: NewRun): Promise<RunRow> {
      await db.insert(r).values(row).onConflictDoNothing({ target: r.jobId });
      const [x] = await db.select().from(r).where(eq(r.jobId, row.jobId));
      return x as RunRow;
    },

    async run(id: string): Promise<RunRow | undefined> {
      const [x] = await db.select().from(r).where(eq(r.id, id));
      return x;
    },

    async runOfJob(jobId: string): Promise<RunRow | undefined> {
      const [x] = await db.select().from(r).where(eq(r.jobId, jobId));
      return x;
    },

    async runIdsOfJobs(jobIds: string[]): Promise<Map<string, string>> {
      if (jobIds.length === 0) return new Map();
      const rows = await db.select({ id: r.id, jobId: r.jobId }).from(r).where(inArray(r.jobId, jobIds));
      return new Map(rows.map((x) => [x.jobId, x.id]));
    },

    async runs(ids: string[]): Promise<RunRow[]> {
      if (ids.length === 0) return [];
      return db.select().from(r).where(inArray(r.id, ids));
    },

    async updateRun(
      id: string,
      set: Partial<
        Pick<NewRun, 'status' | 'metrics' | 'tags' | 'artifacts' | 'startedAt' | 'finishedAt' | 'name'>
      >,
      now: Date,
    ): Promise<RunRow | undefined> {
      const [x] = await db
        .update(r)
        .set({ ...set, updatedAt: now })
        .where(eq(r.id, id))
        .returning();
      return x;
    },

    /** Merges tags and artifacts into a job's run in one statement (no lost update between writers). */
    async mergeIntoRunOfJob(
      jobId: string,
      add: { tags?: Tags; artifacts?: Record<string, unknown> },
      now: Date,
    ): Promise<RunRow | undefined> {
      const [x] = await db
        .update(r)
        .set({
          tags: sql`${r.tags} || ${JSON.stringify(add.tags ?? {})}::jsonb`,
          artifacts: sql`${r.artifacts} || ${JSON.stringify(add.artifacts ?? {})}::jsonb`,
          updatedAt: now,
        })
        .where(eq(r.jobId, jobId))
        .returning();
      return x;
    },

    async listRuns(q: RunQuery): Promise<RunRow[]> {
      const where: (SQL | undefined)[] = [];
      if (q.owner) where.push(eq(r.ownerId, q.owner));
      if (q.experimentId) where.push(eq(r.experimentId, q.experimentId));
      if (q.status) where.push(eq(r.status, q.status));
      for (const t of q.tags)
        where.push(
          t.value === undefined
            ? sql`(${r.tags} -> ${t.key}::text) is not null`
            : sql`(${r.tags} ->> ${t.key}::text) = ${t.value}::text`,
        );
      for (const c of q.clauses) where.push(clauseSql(c));
      if (q.after) where.push(afterCursor(q.order, q.after));
      const e = sortExpr(q.order);
      const dir = q.order.desc ? sql`desc` : sql`asc`;
      return db
        .select()
        .from(r)
        .where(and(...where))
        .orderBy(sql`${e} ${dir} nulls last`, q.order.desc ? desc(r.id) : asc(r.id))
        .limit(q.limit + 1);
    },
  };
}
export type ExperimentRepository = ReturnType<typeof createExperimentRepository>;
