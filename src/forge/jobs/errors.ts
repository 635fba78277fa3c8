import { ConflictError, NotFoundError } from '../../platform/errors.js';

export const jobNotFound = () => new NotFoundError('Training job', 'training_job_not_found');
export const jobFinished = (state: string) =>
  new ConflictError(`The training job already ${state}`, 'training_job_finished');
