import { ConflictError, NotFoundError, ValidationError } from '../../../platform/errors.js';

export const providerNotFound = () => new NotFoundError('Provider', 'provider_not_found');
export const providerNameTaken = (name: string) =>
  new ConflictError(`A provider named '${name}' exists`, 'provider_name_taken');
export const providerInUse = (versions: number) =>
  new ConflictError(
    `${versions} ready model version${versions > 1 ? 's' : ''} point at this provider; retire or delete them first`,
    'provider_in_use',
  );
export const providerDisabled = () =>
  new ConflictError('The provider is disabled; enable it first', 'provider_disabled');

/** The base URL is refused by the egress policy or by its shape; `reason` names what is wrong. */
export const egressDenied = (reason: string) =>
  new ValidationError(
    `The base URL is not allowed: ${reason}`,
    [{ path: 'body.base_url', message: reason }],
    'egress_denied',
  );

export const invalidBaseUrl = (reason: string) =>
  new ValidationError(
    `The base URL is not valid: ${reason}`,
    [{ path: 'body.base_url', message: reason }],
    'invalid_base_url',
  );

export const fieldError = (field: string, message: string, code = 'validation_error') =>
  new ValidationError(`Field '${field}': ${message}`, [{ path: `body.${field}`, message }], code);

export const remoteModelNotFound = (model: string) =>
  new ValidationError(
    `The provider does not list a model '${model.slice(0, 300)}'`,
    [{ path: 'body.model', message: 'not among the provider’s models' }],
    'remote_model_not_found',
  );
