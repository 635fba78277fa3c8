import { z } from 'zod';
import { ValidationError } from '../../platform/errors.js';

const name = z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/, 'must be lower-case letters, digits, _ or -');

export const scopeParams = z.object({ scope: name });
export const sectionParams = z.object({ scope: name, section: name });

export const settingsSection = z
  .object({
    scope: z.string(),
    section: z.string(),
    description: z.string(),
    values: z.record(z.string(), z.unknown()).describe('Current values; secrets masked'),
    version: z.number().int().describe('0 while only defaults apply'),
    updated_at: z.string().nullable(),
    updated_by: z.string().nullable(),
  })
  .meta({ id: 'SettingsSection' });
export type SettingsSection = z.infer<typeof settingsSection>;

/** Sections are few and bounded by what the node registers, so lists are never paged. */
export const settingsList = z
  .object({ items: z.array(settingsSection), next_cursor: z.string().nullable() })
  .meta({ id: 'SettingsList' });

/** One field of a section as clients see it in GET /settings/schema (Studio renders forms from it). */
export const settingsField = z
  .object({
    name: z.string(),
    /** JSON Schema type: string | number | integer | boolean | array | object, or several joined by `|`. */
    type: z.string(),
    description: z.string().nullable(),
    /** Never shown for secret fields. */
    default: z.unknown(),
    /** Numbers: minimum/maximum; strings: length; arrays: item count. */
    min: z.number().nullable(),
    max: z.number().nullable(),
    enum: z.array(z.unknown()).nullable(),
    nullable: z.boolean(),
    secret: z.boolean(),
  })
  .meta({ id: 'SettingsField' });
export type SettingsField = z.infer<typeof settingsField>;

export const settingsSectionSchema = z
  .object({
    scope: z.string(),
    section: z.string(),
    description: z.string(),
    fields: z.array(settingsField),
  })
  .meta({ id: 'SettingsSectionSchema' });
export type SettingsSectionSchema = z.infer<typeof settingsSectionSchema>;

export const settingsSchemaList = z
  .object({ items: z.array(settingsSectionSchema), next_cursor: z.string().nullable() })
  .meta({ id: 'SettingsSchema' });

export const settingsChange = z
  .object({
    id: z.string(),
    scope: z.string(),
    section: z.string(),
    version: z.number().int(),
    changes: z
      .record(z.string(), z.object({ from: z.unknown(), to: z.unknown() }))
      .describe('Changed fields; secrets appear only as markers'),
    changed_by: z.string().nullable(),
    changed_by_name: z.string().nullable(),
    changed_at: z.string(),
    request_id: z.string().nullable(),
  })
  .meta({ id: 'SettingsChange' });
export type SettingsChange = z.infer<typeof settingsChange>;

export const historyQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
});

export const auditQuery = historyQuery.extend({ scope: name.optional(), section: name.optional() });

export const updateBody = z
  .record(z.string().max(64), z.unknown())
  .describe('Fields to change, merged over the current values; null returns a field to its default');

export const updateQuery = z.object({
  version: z.coerce
    .number()
    .int()
    .min(0)
    .optional()
    .describe('Apply only if the section is still at this version (or send If-Match)'),
});

export const ifMatchHeaders = z.looseObject({
  'if-match': z.string().max(100).optional().describe('"<version>" as in the ETag of the section'),
});

/** The version a client expects, from `If-Match: "3"` (ETag form) or `?version=3`. */
export function expectedVersion(ifMatch: string | undefined, query: number | undefined): number | undefined {
  let header: number | undefined;
  if (ifMatch !== undefined) {
    const m = /^\s*(?:W\/)?"?(\d{1,9})"?\s*$/.exec(ifMatch);
    if (!m) {
      throw new ValidationError(
        'If-Match must be the section version, e.g. "3"',
        [{ path: 'headers.if-match', message: 'must be a version number' }],
        'invalid_if_match',
      );
    }
    header = Number(m[1]);
  }
  if (header !== undefined && query !== undefined && header !== query) {
    throw new ValidationError(
      'If-Match and ?version disagree',
      [{ path: 'query.version', message: 'differs from If-Match' }],
      'invalid_if_match',
    );
  }
  return header ?? query;
}

export const etagOf = (version: number) => `"${version}"`;
