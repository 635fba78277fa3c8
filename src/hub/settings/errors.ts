import { ConflictError, NotFoundError, ValidationError } from '../../platform/errors.js';

export const sectionNotFound = (scope: string, section: string) =>
  new NotFoundError(`Settings section ${scope}/${section}`, 'settings_section_not_found');

export const scopeNotFound = (scope: string) =>
  new NotFoundError(`Settings scope ${scope}`, 'settings_scope_not_found');

export const versionConflict = (expected: number, actual: number) =>
  new ConflictError(
    `The section is at version ${actual}, not ${expected}; read it again and retry`,
    'settings_version_conflict',
  );

/** Another writer kept winning the compare-and-set; rare, and safe to retry. */
export const contention = () =>
  new ConflictError('The section is changing too often right now; retry', 'settings_version_conflict');

export const unknownField = (scope: string, section: string, fields: string[]) =>
  new ValidationError(
    `Unknown field${fields.length > 1 ? 's' : ''} for ${scope}/${section}: ${fields.join(', ')}`,
    fields.map((f) => ({ path: `body.${f}`, message: 'unknown field' })),
    'unknown_setting_field',
  );
