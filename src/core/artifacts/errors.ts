import { AppError, NotFoundError } from '../../platform/errors.js';

export const artifactTooLarge = (limit: number) =>
  new AppError(413, 'artifact_too_large', `The artifact is larger than the limit of ${limit} bytes`);
export const artifactNotFound = () => new NotFoundError('Artifact');
export const checksumMismatch = (expected: string, actual: string) =>
  new AppError(
    422,
    'artifact_checksum_mismatch',
    `The content's sha256 is ${actual}, but ${expected} was expected`,
  );
export const rangeNotSatisfiable = (size: number) =>
  new AppError(416, 'range_not_satisfiable', `The requested range is outside the artifact (${size} bytes)`);
export const invalidDigest = () =>
  new AppError(400, 'invalid_sha256', 'A sha256 digest is 64 lowercase hexadecimal characters');
export const sizeMismatch = (expected: number, actual: number) =>
  new AppError(422, 'artifact_size_mismatch', `The file has ${actual} bytes, but ${expected} were expected`);
