import {
  AppError,
  ConflictError,
  ForbiddenError,
  NotFoundError,
  ValidationError,
} from '../../platform/errors.js';

export const datasetNotFound = () => new NotFoundError('Dataset', 'dataset_not_found');
export const datasetVersionNotFound = () => new NotFoundError('Dataset version', 'dataset_version_not_found');
export const datasetNameTaken = (name: string) =>
  new ConflictError(`A dataset named '${name}' already exists`, 'dataset_name_taken');
export const notDatasetOwner = () =>
  new ForbiddenError('Only the owner of the dataset or an admin can change it', 'not_dataset_owner');

/** Where in the file a problem is: 1-based line, data row (the CSV header is not a row) and column. */
export interface FilePosition {
  line?: number | undefined;
  row?: number | undefined;
  column?: string | number | undefined;
}

/** The file does not parse; the message names the place. Nothing of the upload is kept. */
export class DatasetMalformedError extends AppError {
  readonly position: FilePosition;
  constructor(message: string, position: FilePosition = {}) {
    const where = [
      position.line !== undefined ? `line ${position.line}` : undefined,
      position.row !== undefined ? `row ${position.row}` : undefined,
      position.column !== undefined
        ? typeof position.column === 'number'
          ? `column ${position.column}`
          : `column '${position.column}'`
        : undefined,
    ].filter(Boolean);
    super(400, 'dataset_malformed', where.length ? `${where.join(', ')}: ${message}` : message, {
      errors: [{ path: 'body.file', message: where.length ? `${where.join(', ')}: ${message}` : message }],
    });
    this.position = position;
  }
}
export const datasetMalformed = (message: string, position?: FilePosition) =>
  new DatasetMalformedError(message, position);

export const datasetEmpty = () =>
  new ValidationError(
    'The file holds no data rows',
    [{ path: 'body.file', message: 'no data rows' }],
    'dataset_empty',
  );
export const formatUnsupported = (what: string) =>
  new ValidationError(
    `Unsupported file: ${what}. Upload CSV, a JSON array of objects, or JSON Lines`,
    [{ path: 'body.file', message: what }],
    'dataset_format_unsupported',
  );
export const datasetTooLarge = (message: string) => new AppError(413, 'dataset_too_large', message);
export const invalidField = (field: string, message: string) =>
  new ValidationError(`Field '${field}': ${message}`, [{ path: `body.${field}`, message }]);
export const noFile = () =>
  new ValidationError(
    "The upload needs a 'file' part",
    [{ path: 'body.file', message: 'required' }],
    'dataset_file_missing',
  );
export const notMultipart = () =>
  new AppError(415, 'multipart_required', 'Send the dataset as multipart/form-data with a `file` part');
