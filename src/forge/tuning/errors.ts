import { type FieldError, NotFoundError, ValidationError } from '../../platform/errors.js';

export const searchNotFound = () => new NotFoundError('Hyperparameter search', 'search_not_found');

export const invalidSearch = (errors: FieldError[]) =>
  new ValidationError(
    `The search is not valid: ${errors.map((e) => `${e.path.replace(/^body\./, '')}: ${e.message}`).join('; ')}`,
    errors,
    'invalid_search',
  );
