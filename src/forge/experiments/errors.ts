import { ConflictError, NotFoundError } from '../../platform/errors.js';

export const experimentNotFound = () => new NotFoundError('Experiment', 'experiment_not_found');
export const runNotFound = () => new NotFoundError('Run', 'run_not_found');
export const experimentNameTaken = (name: string) =>
  new ConflictError(`You already have an experiment named '${name}'`, 'experiment_name_taken');
export const experimentBusy = (active: number) =>
  new ConflictError(
    `The experiment has ${active} active run(s); cancel them or wait for them to end before deleting it`,
    'experiment_has_active_runs',
  );
