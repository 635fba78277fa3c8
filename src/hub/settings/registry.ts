import { z } from 'zod';

/**
 * Runtime settings are declared by the domain that uses them: a (scope, section) pair with a Zod
 * schema whose every field has a default. Secret fields are marked with `secret()` and are encrypted
 * at rest and masked in every answer. Values are read synchronously from an in-memory copy that a
 * change (on any node) refreshes: hot reload without restart.
 */
export const SECRET_META = 'polar.secret';

/** Marks a string field as a secret: encrypted at rest, never returned in full, never logged. */
export const secret = (s: z.ZodString = z.string()) => s.meta({ [SECRET_META]: true });

export interface SectionDef<S extends z.ZodObject = z.ZodObject> {
  scope: string;
  section: string;
  description: string;
  schema: S;
}

export const defineSection = <S extends z.ZodObject>(d: SectionDef<S>) => d;

/** The Hub's own settings. */
export const securitySettings = defineSection({
  scope: 'security',
  section: 'auth',
  description: 'Sessions and request limits',
  schema: z.strictObject({
    session_ttl_hours: z
      .number()
      .int()
      .min(1)
      .max(24 * 365)
      .default(168)
      .describe('Lifetime of a login session'),
    login_per_minute: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      .default(10)
      .describe('Login attempts per minute per client IP'),
    api_per_minute: z
      .number()
      .int()
      .min(1)
      .max(1_000_000)
      .default(6000)
      .describe('API requests per minute per key, user or IP'),
  }),
});

export const eventSettings = defineSection({
  scope: 'events',
  section: 'retention',
  description: 'How long events are kept for clients that resume',
  schema: z.strictObject({
    keep_hours: z
      .number()
      .int()
      .min(1)
      .max(24 * 90)
      .default(72)
      .describe('Events older than this are pruned'),
  }),
});

export interface SettingsReader {
  /** The current values of a section (defaults merged with stored values), secrets decrypted. */
  get<S extends z.ZodObject>(def: SectionDef<S>): z.infer<S>;
}
