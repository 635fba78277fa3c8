import { AppError, type FieldError } from '../../platform/errors.js';

/**
 * Errors a pipeline raises because of its spec or its data. Running the same job again meets the
 * same spec and the same dataset version, so none of them is worth a retry: job runners check
 * `retryable` (or `isPermanentPipelineError`) and fail the job at once.
 */
export const PIPELINE_ERROR_CODES = [
  /** The spec's shape or a step's config is wrong (`errors` name the fields, e.g. steps[1].config.alpha). */
  'invalid_pipeline_spec',
  /** A column the spec or a step names is not in the data. */
  'unknown_column',
  /** A fitted step meets data without a column it was fitted on. */
  'missing_column',
  /** A model or numeric transform met a categorical or text column. */
  'non_numeric_feature',
  /** No feature column is left for the model. */
  'no_features',
  /** A model met a missing value. */
  'missing_values',
  /** A column has no value to learn from (e.g. all missing). */
  'empty_column',
  /** The target is missing, of the wrong type for the task, or holds a single class. */
  'invalid_target',
  /** Too few rows for the split or the model. */
  'not_enough_rows',
  /** A column has more categories than one-hot encoding can usefully take. */
  'too_many_categories',
  /** Fitting overflowed (features too large to compute with); scaling them first helps. */
  'numeric_overflow',
  /** A constant fill value does not match its column's type. */
  'invalid_fill_value',
] as const;
export type PipelineErrorCode = (typeof PIPELINE_ERROR_CODES)[number];

export class PipelineError extends AppError {
  declare readonly code: PipelineErrorCode;
  /** Spec and data errors repeat on every attempt. */
  readonly retryable = false;

  constructor(
    code: PipelineErrorCode,
    message: string,
    opts: { errors?: FieldError[]; status?: number } = {},
  ) {
    super(opts.status ?? (code === 'invalid_pipeline_spec' ? 400 : 422), code, message, {
      ...(opts.errors ? { errors: opts.errors } : {}),
    });
  }
}

/** What a step throws when the data does not suit it; the message says what to change. */
export class StepError extends PipelineError {
  /** The same error told from the step's place in the spec (`steps[2] (ridge): …`). */
  at(index: number, type: string): PipelineError {
    const path = `steps[${index}]`;
    // Steps name themselves in their messages; the place in the spec now says it.
    const message = this.message.startsWith(`${type}: `) ? this.message.slice(type.length + 2) : this.message;
    return new PipelineError(this.code, `${path} (${type}): ${message}`, {
      errors: [{ path, message }],
      status: this.status,
    });
  }
}

export const isPermanentPipelineError = (e: unknown): e is PipelineError => e instanceof PipelineError;
