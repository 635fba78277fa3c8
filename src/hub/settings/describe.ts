import { z } from 'zod';
import { SECRET_META, type SectionDef } from './registry.js';
import type { SettingsField, SettingsSectionSchema } from './schema.js';

type JsonSchema = {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  [k: string]: unknown;
};

const described = new WeakMap<SectionDef, SettingsSectionSchema>();

/** Derived from the Zod schema itself, so the description cannot drift from what is validated. */
export function describeSection(def: SectionDef): SettingsSectionSchema {
  const cached = described.get(def);
  if (cached) return cached;
  const json = z.toJSONSchema(def.schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const fields = Object.entries(json.properties ?? {}).map(([name, prop]) => describeField(name, prop));
  const d = { scope: def.scope, section: def.section, description: def.description, fields };
  described.set(def, d);
  return d;
}

/** Names of the fields marked with `secret()`. */
export function secretFieldsOf(def: SectionDef): ReadonlySet<string> {
  return new Set(
    describeSection(def)
      .fields.filter((f) => f.secret)
      .map((f) => f.name),
  );
}

function describeField(name: string, prop: JsonSchema): SettingsField {
  const branches = prop.anyOf ?? prop.oneOf ?? [prop];
  const nullBranch = (b: JsonSchema) => b.type === 'null';
  const nullable = branches.some(nullBranch);
  const value = branches.filter((b) => !nullBranch(b));
  const main = value.length === 1 ? value[0]! : prop;
  const secret = branches.some((b) => b[SECRET_META] === true) || prop[SECRET_META] === true;
  const types = new Set(value.flatMap((b) => (Array.isArray(b.type) ? b.type : b.type ? [b.type] : [])));
  const num = (k: string) => (typeof main[k] === 'number' ? (main[k] as number) : null);
  const enumValues = main.enum ?? (main.const !== undefined ? [main.const] : null);
  return {
    name,
    type: types.size > 0 ? [...types].join('|') : 'any',
    description: prop.description ?? main.description ?? null,
    default: secret ? null : (prop.default ?? main.default ?? null),
    min: num('minimum') ?? num('minLength') ?? num('minItems'),
    max: num('maximum') ?? num('maxLength') ?? num('maxItems'),
    enum: enumValues,
    nullable,
    secret,
  };
}
