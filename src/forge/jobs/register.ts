import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Registry } from '../../core/registry/index.js';
import { PIPELINE_FILE, tabularPipeline } from '../../core/runtimes/tabular/contract.js';
import type { RequestContext } from '../../hub/auth/principal.js';
import { AppError } from '../../platform/errors.js';
import type { TrainingSpec } from './spec.js';
import { targetModelName } from './spec.js';
import type { JobResult } from './tables.js';

/** The registry model task a spec's trained pipeline is: clustering has none of its own. */
const modelTask = (s: TrainingSpec) => (s.task === 'clustering' ? 'other' : s.task);

/**
 * Registers a job's output as a `polar-tabular` version, at most once per job id: the registry
 * answers the version a job already made (lineage.job_id) instead of a second one, so a job whose
 * worker died between registering and recording success registers nothing on its rerun.
 */
export function createJobRegistration(registry: Registry) {
  return {
    /** The version this job already registered, if any (looked up before training again). */
    async existing(spec: TrainingSpec, jobId: string): Promise<JobResult | null> {
      const m = await registry.repo.modelByIdOrName(targetModelName(spec));
      if (!m) return null;
      const v = (await registry.repo.versionsOf(m.id)).find((x) => x.lineage.job_id === jobId);
      return v ? { model_id: m.id, model_name: m.name, version: v.version } : null;
    },

    /**
     * Creates the model when absent (task from the spec, owned by the job's owner), else adds a
     * version when the owner may write to it; the pipeline file is checked against the format first.
     */
    async register(
      ctx: RequestContext,
      input: {
        jobId: string;
        spec: TrainingSpec;
        datasetId: string;
        outputDir: string;
        metrics: Record<string, unknown>;
        /** A search registers its best trial's output under its own job id and names the trial. */
        trialJobId?: string | undefined;
      },
    ): Promise<JobResult> {
      const file = join(input.outputDir, PIPELINE_FILE);
      let raw: unknown;
      try {
        raw = JSON.parse(await readFile(file, 'utf8'));
      } catch (err) {
        throw new AppError(422, 'invalid_trainer_output', `${PIPELINE_FILE} could not be read`, {
          cause: err,
        });
      }
      const parsed = tabularPipeline.safeParse(raw);
      if (!parsed.success)
        throw new AppError(
          422,
          'invalid_trainer_output',
          `${PIPELINE_FILE}: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`,
        );
      const name = targetModelName(input.spec);
      try {
        await registry.models.create(ctx, {
          name,
          task: modelTask(input.spec),
          description: input.spec.description || `Trained by job ${input.spec.name}`,
          tags: ['forge'],
          visibility: 'internal',
        });
      } catch (err) {
        // Training into an existing model adds a version to it, when the owner may write to it.
        if (!(err instanceof AppError && err.code === 'model_name_taken')) throw err;
      }
      const stored = await registry.store.put(createReadStream(file));
      const { modelId, version } = await registry.versions.registerStored(ctx, name, {
        files: [{ path: PIPELINE_FILE, size: stored.size, sha256: stored.sha256 }],
        source: `forge:job/${input.jobId}`,
        lineage: {
          job_id: input.jobId,
          dataset_version: `${input.datasetId}@${input.spec.dataset_version}`,
          ...(input.trialJobId ? { trial_job_id: input.trialJobId } : {}),
        },
        metrics: input.metrics,
        format: 'polar-tabular',
      });
      return { model_id: modelId, model_name: name, version: version.version };
    },
  };
}
export type JobRegistration = ReturnType<typeof createJobRegistration>;
