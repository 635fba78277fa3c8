import type { FastifyPluginAsync } from 'fastify';
import type { Registry } from '../../core/registry/index.js';
import type { AuditService } from '../../hub/audit/service.js';
import type { RequestContext } from '../../hub/auth/principal.js';
import { deriveKey } from '../../platform/crypto/keys.js';
import type { Db } from '../../platform/db/client.js';
import type { FieldError } from '../../platform/errors.js';
import type { TrainingSpec } from '../jobs/spec.js';
import type { JobResult } from '../jobs/tables.js';
import type { ExecuteOptions, ExecuteOutcome } from '../workers/executor.js';
import { executeExternal } from './executor.js';
import { registerOutputs } from './register.js';
import { createTrainerRepository } from './repository.js';
import { trainerRoutes } from './routes.js';
import { createTrainerService } from './service.js';

/** What training asks of external trainers for a job whose spec names one. */
export interface TrainerHooks {
  /** Problems of such a spec, checked at dispatch in place of the pipeline step check. */
  check(spec: TrainingSpec): Promise<FieldError[]>;
  /** Runs the trainer once; same outcome shape as the built-in trainers'. */
  execute(opts: ExecuteOptions): Promise<ExecuteOutcome>;
  /** Registers the output directory as a version, at most once per job. */
  register(
    ctx: RequestContext,
    input: {
      jobId: string;
      spec: TrainingSpec;
      datasetId: string;
      outputDir: string;
      metrics: Record<string, unknown>;
    },
  ): Promise<JobResult>;
}

/** External trainers: the admin-managed catalog, its routes, and the hooks training runs them by. */
export function createTrainers(deps: { db: Db; audit: AuditService; masterKey: Buffer; registry: Registry }) {
  const service = createTrainerService({
    repo: createTrainerRepository(deps.db),
    audit: deps.audit,
    key: deriveKey(deps.masterKey, 'trainers'),
  });
  const hooks: TrainerHooks = {
    async check(spec) {
      if (!spec.trainer) return [];
      return (await service.exists(spec.trainer))
        ? []
        : [{ path: 'trainer', message: `no registered trainer '${spec.trainer}'` }];
    },
    async execute(opts) {
      const name = opts.job.spec.trainer as string;
      let trainer: Awaited<ReturnType<typeof service.resolve>>;
      try {
        trainer = await service.resolve(name);
      } catch {
        // Removed after the job was dispatched: no attempt can succeed.
        return {
          ok: false,
          stopped: false,
          error: {
            code: 'trainer_not_found',
            message: `Trainer ${name} is no longer registered`,
            transient: false,
          },
        };
      }
      return executeExternal({ ...opts, trainer });
    },
    async register(ctx, input) {
      return registerOutputs(deps.registry, ctx, await service.resolve(input.spec.trainer as string), input);
    },
  };
  const routes: FastifyPluginAsync = async (api) => {
    await api.register(trainerRoutes, { trainers: service });
  };
  return { service, hooks, routes };
}
export type Trainers = ReturnType<typeof createTrainers>;
