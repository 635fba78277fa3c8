import { z } from 'zod';
import type { AuditService } from '../../hub/audit/service.js';
import type { RequestContext } from '../../hub/auth/principal.js';
import { newId } from '../../hub/auth/tokens.js';
import { MASK_PREFIX, maskSecret } from '../../hub/settings/values.js';
import { decrypt, encrypt } from '../../platform/crypto/keys.js';
import { isUniqueViolation } from '../../platform/db/errors.js';
import { ConflictError, NotFoundError, ValidationError } from '../../platform/errors.js';
import { decodeCursor, type Page, toPage } from '../../platform/http/pagination.js';
import type { RunnableTrainer } from './executor.js';
import type { TrainerRepository, TrainerRow } from './repository.js';
import type { CreateTrainerBody, TrainerView, UpdateTrainerBody } from './schema.js';

export const trainerNotFound = () => new NotFoundError('Trainer', 'trainer_not_found');
const nameTaken = (name: string) =>
  new ConflictError(`A trainer named '${name}' exists`, 'trainer_name_taken');

const isAdmin = (ctx: RequestContext) => ctx.principal?.role === 'admin';
/** Binds a sealed value to its trainer and variable, so values cannot be swapped between rows. */
const aad = (trainerId: string, name: string) => `trainer:${trainerId}:${name}`;

/** A trainer as a job run needs it, plus what its registration needs. */
export interface ResolvedTrainer extends RunnableTrainer {
  outputFormat: TrainerRow['outputFormat'];
  task: TrainerRow['task'];
}

/**
 * Admin-approved external trainers. Admins register, change and remove them; anyone who may train
 * lists them and names one in a job, without ever seeing the command or the environment. Values of
 * the environment are sealed with the trainers' subkey of the master secret: a worker on another
 * machine opens them with the same POLAR_SECRET_KEY.
 */
export function createTrainerService(deps: {
  repo: TrainerRepository;
  audit: AuditService;
  /** Subkey that seals environment values (derived for the 'trainers' purpose). */
  key: Buffer;
  now?: () => Date;
}) {
  const now = deps.now ?? (() => new Date());
  const seal = (id: string, env: Record<string, string>) =>
    Object.fromEntries(Object.entries(env).map(([k, v]) => [k, encrypt(deps.key, v, aad(id, k))]));
  const open = (row: TrainerRow) =>
    Object.fromEntries(Object.entries(row.env).map(([k, v]) => [k, decrypt(deps.key, v, aad(row.id, k))]));

  const view = (ctx: RequestContext, r: TrainerRow): TrainerView => ({
    id: r.id,
    name: r.name,
    description: r.description,
    output_format: r.outputFormat,
    task: r.task,
    timeout_seconds: r.timeoutSeconds,
    ...(isAdmin(ctx)
      ? {
          command: r.command,
          args: r.args,
          env: Object.fromEntries(Object.entries(open(r)).map(([k, v]) => [k, maskSecret(v) ?? ''])),
          created_by: r.createdBy,
        }
      : {}),
    created_at: r.createdAt.toISOString(),
    updated_at: r.updatedAt.toISOString(),
  });

  const find = async (idOrName: string) => {
    const row = await deps.repo.byIdOrName(idOrName);
    if (!row) throw trainerNotFound();
    return row;
  };

  /** What the audit keeps of a trainer: never an environment value. */
  const describe = (r: TrainerRow) => ({
    name: r.name,
    command: r.command,
    args: r.args,
    env: Object.keys(r.env),
    output_format: r.outputFormat,
    timeout_seconds: r.timeoutSeconds,
  });

  return {
    async list(
      ctx: RequestContext,
      q: { limit: number; cursor?: string | undefined },
    ): Promise<Page<TrainerView>> {
      const after = decodeCursor(q.cursor, z.object({ name: z.string() }));
      const rows = await deps.repo.list(after?.name, q.limit);
      return toPage(
        rows,
        q.limit,
        (r) => view(ctx, r),
        (r) => ({ name: r.name }),
      );
    },

    async get(ctx: RequestContext, idOrName: string): Promise<TrainerView> {
      return view(ctx, await find(idOrName));
    },

    async create(ctx: RequestContext, body: CreateTrainerBody): Promise<TrainerView> {
      const id = newId();
      const at = now();
      let row: TrainerRow;
      try {
        row = await deps.repo.insert({
          id,
          name: body.name,
          description: body.description,
          command: body.command,
          args: body.args,
          env: seal(id, body.env),
          outputFormat: body.output_format,
          task: body.task,
          timeoutSeconds: body.timeout_seconds,
          createdBy: ctx.principal?.userId ?? null,
          createdAt: at,
          updatedAt: at,
        });
      } catch (err) {
        if (isUniqueViolation(err)) throw nameTaken(body.name);
        throw err;
      }
      await deps.audit.record(ctx, {
        action: 'trainer.create',
        targetType: 'trainer',
        targetId: row.id,
        details: describe(row),
      });
      return view(ctx, row);
    },

    async update(ctx: RequestContext, idOrName: string, body: UpdateTrainerBody): Promise<TrainerView> {
      const row = await find(idOrName);
      let env: Record<string, string> | undefined;
      if (body.env) {
        const current = open(row);
        const masked = Object.entries(body.env).filter(([, v]) => v.startsWith(MASK_PREFIX));
        const stale = masked.filter(([k, v]) => v !== maskSecret(current[k]));
        if (stale.length > 0)
          throw new ValidationError(
            'An environment value holds a mask, not a value',
            stale.map(([k]) => ({
              path: `body.env.${k}`,
              message: 'is a mask, not a value; send the new value',
            })),
            'secret_is_mask',
          );
        const next = Object.fromEntries(
          Object.entries(body.env).map(([k, v]) => [
            k,
            v.startsWith(MASK_PREFIX) ? (current[k] as string) : v,
          ]),
        );
        env = seal(row.id, next);
      }
      let after: TrainerRow | undefined;
      try {
        after = await deps.repo.update(row.id, {
          ...(body.name !== undefined ? { name: body.name } : {}),
          ...(body.description !== undefined ? { description: body.description } : {}),
          ...(body.command !== undefined ? { command: body.command } : {}),
          ...(body.args !== undefined ? { args: body.args } : {}),
          ...(env ? { env } : {}),
          ...(body.output_format !== undefined ? { outputFormat: body.output_format } : {}),
          ...(body.task !== undefined ? { task: body.task } : {}),
          ...(body.timeout_seconds !== undefined ? { timeoutSeconds: body.timeout_seconds } : {}),
          updatedAt: now(),
        });
      } catch (err) {
        if (isUniqueViolation(err)) throw nameTaken(body.name ?? row.name);
        throw err;
      }
      if (!after) throw trainerNotFound();
      await deps.audit.record(ctx, {
        action: 'trainer.update',
        targetType: 'trainer',
        targetId: row.id,
        details: { before: describe(row), after: describe(after) },
      });
      return view(ctx, after);
    },

    /** Jobs that name it and have not run yet fail with trainer_not_found. */
    async remove(ctx: RequestContext, idOrName: string): Promise<void> {
      const row = await find(idOrName);
      if (!(await deps.repo.remove(row.id))) throw trainerNotFound();
      await deps.audit.record(ctx, {
        action: 'trainer.delete',
        targetType: 'trainer',
        targetId: row.id,
        details: describe(row),
      });
    },

    /** Whether a job may name it (checked at dispatch). */
    async exists(name: string): Promise<boolean> {
      return (await deps.repo.byIdOrName(name)) !== undefined;
    },

    /** The trainer a job names, environment opened, for the worker that runs the job. */
    async resolve(name: string): Promise<ResolvedTrainer> {
      const row = await find(name);
      return {
        name: row.name,
        command: row.command,
        args: row.args,
        env: open(row),
        timeoutSeconds: row.timeoutSeconds,
        outputFormat: row.outputFormat,
        task: row.task,
      };
    },
  };
}
export type TrainerService = ReturnType<typeof createTrainerService>;
