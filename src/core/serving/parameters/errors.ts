import { ConflictError, ValidationError } from '../../../platform/errors.js';

export const parametersConflict = (expected: number, actual: number) =>
  new ConflictError(
    `The parameters are at version ${actual}, not ${expected}; read them again and retry`,
    'parameters_conflict',
  );
export const noParameters = () =>
  new ValidationError(
    'parameters must name at least one parameter to change',
    [{ path: 'body.parameters', message: 'is empty' }],
    'no_parameters',
  );
