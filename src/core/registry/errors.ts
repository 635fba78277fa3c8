import {
  AppError,
  ConflictError,
  ForbiddenError,
  NotFoundError,
  ValidationError,
} from '../../platform/errors.js';

export const modelNotFound = () => new NotFoundError('Model', 'model_not_found');
export const versionNotFound = () => new NotFoundError('Version', 'version_not_found');
export const fileNotFound = () => new NotFoundError('File', 'file_not_found');
export const aliasNotFound = () => new NotFoundError('Alias', 'alias_not_found');
export const modelNameTaken = (name: string) =>
  new ConflictError(`A model named '${name}' already exists`, 'model_name_taken');
export const versionRetired = (version: number) =>
  new ConflictError(`Version ${version} is retired and cannot be aliased`, 'version_retired');
export const aliasConflict = (expected: number | null, actual: number | null) =>
  new ConflictError(
    `The alias points at ${actual ?? 'nothing'}, not ${expected ?? 'nothing'}; it was changed meanwhile`,
    'alias_conflict',
  );
export const noPreviousTarget = () =>
  new ConflictError('The alias has no previous version to roll back to', 'no_previous_version');
export const notModelOwner = () =>
  new ForbiddenError('Only the owner of the model or an admin can change it', 'not_model_owner');
export const pickleRefused = (path: string) =>
  new ValidationError(
    `'${path}' is a pickle-based file; storing pickles is disabled (an admin can allow it in registry/storage)`,
    [{ path: 'file', message: 'pickle-based weights are refused' }],
    'pickle_refused',
  );
export const duplicateFile = (path: string) =>
  new ValidationError(
    `The file '${path}' appears twice`,
    [{ path: 'file', message: 'duplicate path' }],
    'duplicate_file',
  );
export const noFiles = () =>
  new ValidationError(
    'A version needs at least one file part or an external reference',
    undefined,
    'no_files',
  );
export const invalidField = (field: string, message: string) =>
  new ValidationError(`Field '${field}': ${message}`, [{ path: `body.${field}`, message }]);
export const uploadTooLarge = (limit: number) =>
  new AppError(413, 'artifact_too_large', `The upload is larger than the limit of ${limit} bytes`);
