import { AppError, ForbiddenError, UnauthorizedError } from '../../platform/errors.js';

export const invalidToken = () => new UnauthorizedError('The token is not valid', 'invalid_token');
export const tokenExpired = () => new UnauthorizedError('The token has expired', 'token_expired');
export const keyRevoked = () => new UnauthorizedError('The API key has been revoked', 'key_revoked');
export const accountDisabled = () => new UnauthorizedError('The account is disabled', 'account_disabled');
export const invalidCredentials = () =>
  new UnauthorizedError('Invalid username or password', 'invalid_credentials');
export const wrongPassword = () => new AppError(400, 'wrong_password', 'The current password is not correct');
export const csrfFailed = () =>
  new ForbiddenError('Missing or invalid CSRF token (send the x-csrf-token header)', 'csrf_failed');
export const missingPermission = (p: string) =>
  new ForbiddenError(`This needs the '${p}' permission`, 'permission_denied');
