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

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;

export const loggingSettings = defineSection({
  scope: 'logging',
  section: 'general',
  description: 'Application log output',
  schema: z.strictObject({
    level: z
      .enum(LOG_LEVELS)
      .default('info')
      .describe('Least severe level written to the console and the log files; applies at once'),
  }),
});

export const HUB_SECTIONS: readonly SectionDef[] = [securitySettings, eventSettings, loggingSettings];

export interface SettingsReader {
  /** The current values of a section (defaults merged with stored values), secrets decrypted. */
  get<S extends z.ZodObject>(def: SectionDef<S>): z.infer<S>;
}

const NAME_RE = /^[a-z][a-z0-9_-]{0,63}$/;
/** Static paths under /settings that a scope would shadow. */
const RESERVED_SCOPES = new Set(['schema', 'audit']);

/**
 * The sections this node knows. Each domain registers its own while the app is composed, before the
 * settings service loads stored values; the settings module never needs to know them in advance.
 */
export interface SettingsRegistry {
  register(...defs: SectionDef[]): void;
  find(scope: string, section: string): SectionDef | undefined;
  all(): readonly SectionDef[];
  hasScope(scope: string): boolean;
}

export function createSettingsRegistry(initial: readonly SectionDef[] = []): SettingsRegistry {
  const byKey = new Map<string, SectionDef>();
  const registry: SettingsRegistry = {
    register(...defs) {
      for (const d of defs) {
        const key = `${d.scope}/${d.section}`;
        if (!NAME_RE.test(d.scope) || !NAME_RE.test(d.section)) {
          throw new Error(`settings section ${key}: scope and section must match ${NAME_RE}`);
        }
        if (RESERVED_SCOPES.has(d.scope)) throw new Error(`settings scope ${d.scope} is reserved by the API`);
        if (byKey.has(key)) throw new Error(`settings section ${key} is registered twice`);
        // get() must always have an answer, so a section with nothing stored must still be valid.
        const empty = d.schema.safeParse({});
        if (!empty.success) throw new Error(`settings section ${key}: every field needs a default`);
        byKey.set(key, d);
      }
    },
    find: (scope, section) => byKey.get(`${scope}/${section}`),
    all: () =>
      [...byKey.values()].sort((a, b) => `${a.scope}/${a.section}`.localeCompare(`${b.scope}/${b.section}`)),
    hasScope: (scope) => [...byKey.values()].some((d) => d.scope === scope),
  };
  registry.register(...initial);
  return registry;
}
