import type { RequestContext } from '../../hub/auth/principal.js';
import type { FieldError } from '../../platform/errors.js';
import type { TrainingSpec } from './spec.js';

/** What training needs from Forge's datasets: the stored file of one version, read as its caller. */
export interface DatasetFiles {
  /** Throws a not-found error when the version does not exist or the caller may not read it. */
  fileFor(
    ctx: RequestContext,
    idOrName: string,
    version: number,
  ): Promise<{
    path: string;
    format: string;
    kind: string;
    schema: unknown;
    rows: number;
    datasetId: string;
    version: number;
  }>;
}

/**
 * Checks a spec's steps against the pipeline step registry (types known, configs valid, one model
 * step last that suits the task); answers the problems with their paths, e.g. `steps.3.config.max_depth`.
 */
export type StepChecker = (spec: TrainingSpec) => Promise<FieldError[]>;
