import { isIP } from 'node:net';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';

/**
 * Every POLAR_* variable, parsed once at start. Only this file reads `process.env`.
 * Each entry says why it exists; a bad value fails start with a message naming the variable.
 */
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const csv = z.string().transform((v) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);

/** One entry of POLAR_EGRESS_ALLOW: a CIDR, a single address, a host name or a `*.suffix` wildcard. */
export interface EgressAllowList {
  /** Lower-case names without a trailing dot; `*.example.com` matches every name under example.com. */
  readonly hosts: readonly string[];
  readonly cidrs: readonly { address: string; prefix: number; family: 'ipv4' | 'ipv6' }[];
}

const HOST_NAME =
  /^(\*\.)?([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$/;

const egressAllow = csv.transform((entries, ctx): EgressAllowList => {
  const hosts: string[] = [];
  const cidrs: EgressAllowList['cidrs'][number][] = [];
  for (const raw of entries) {
    const entry = raw.toLowerCase().replace(/^\[(.*)\](\/\d+)?$/, '$1$2');
    const [address = '', prefixText, extra] = entry.split('/');
    const family = isIP(address);
    if (family !== 0 && extra === undefined) {
      const max = family === 4 ? 32 : 128;
      const prefix = prefixText === undefined ? max : Number(prefixText);
      if (/^\d{1,3}$/.test(prefixText ?? String(max)) && prefix <= max) {
        cidrs.push({ address, prefix, family: family === 4 ? 'ipv4' : 'ipv6' });
        continue;
      }
    } else if (
      prefixText === undefined &&
      HOST_NAME.test(entry.replace(/\.$/, '')) &&
      // A name whose last label is a number is an IPv4 spelling to the URL parser (127.1, 0x7f.1).
      !/(^|\.)(\d+|0x[0-9a-f]*)\.?$/.test(entry)
    ) {
      hosts.push(entry.replace(/\.$/, ''));
      continue;
    }
    ctx.addIssue({
      code: 'custom',
      message: `'${raw}' is not a host name, an IP address or a CIDR such as 10.0.0.0/8`,
    });
  }
  return { hosts, cidrs };
});

const envSchema = z.object({
  /** Where the embedded database, logs, secrets and artifacts live. */
  POLAR_DATA_DIR: z.string().default(join(homedir(), '.polar')),
  /** Interface to bind; loopback by default so a fresh install is not exposed to the network. */
  POLAR_HOST: z.string().min(1).default('127.0.0.1'),
  /** HTTP port. */
  POLAR_PORT: z.coerce.number().int().min(0).max(65535).default(8000),
  /** postgres://… to use PostgreSQL instead of the embedded PGlite database. */
  POLAR_DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must start with postgres:// or postgresql://')
    .optional(),
  /** redis://… to share rate limits and events between nodes (and, later, dispatch jobs). */
  POLAR_REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must start with redis:// or rediss://')
    .optional(),
  /** Prefix of every key and channel Polar keeps in Redis, so several deployments can share one Redis. */
  POLAR_REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, "letters, digits, '_', '.' and '-'")
    .default('polar'),
  /** Password of the first admin; when unset a random one is generated and printed once. */
  POLAR_ADMIN_PASSWORD: z.string().min(8, 'must be at least 8 characters').optional(),
  /** Username of the first admin. */
  POLAR_ADMIN_USERNAME: z.string().min(1).default('admin'),
  /** 32-byte key (hex or base64) that encrypts secrets at rest; generated into the data dir when unset. */
  POLAR_SECRET_KEY: z.string().optional(),
  /** Extra Host header values accepted (comma-separated) besides the bound host, localhost and 127.0.0.1. */
  POLAR_ALLOWED_HOSTS: csv.default([]),
  /** Extra browser origins allowed to call the API with cookies (comma-separated, e.g. https://polar.example). */
  POLAR_ALLOWED_ORIGINS: csv.default([]),
  /** Largest JSON body accepted, in bytes. */
  POLAR_BODY_LIMIT: z.coerce
    .number()
    .int()
    .min(1024)
    .default(1024 * 1024),
  /** Hugging Face hub that model imports talk to; a mirror or a test hub replaces the public one. */
  POLAR_HF_ENDPOINT: z
    .string()
    .url()
    .transform((v) => v.replace(/\/+$/, ''))
    .default('https://huggingface.co'),
  /** Token that may scrape /metrics without an admin login (for Prometheus). */
  POLAR_METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Log level for the console and the log files. */
  POLAR_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Write rotating JSON log files under <data dir>/logs as well as to stdout. */
  POLAR_LOG_FILES: bool.default(true),
  /** Mark the session cookie Secure (set when Polar is served over HTTPS, e.g. behind a TLS proxy). */
  POLAR_COOKIE_SECURE: bool.default(false),
  /** Trust X-Forwarded-* from a reverse proxy (needed for client IPs behind nginx). */
  POLAR_TRUST_PROXY: bool.default(false),
  /** Where `polar` CLI commands send requests (the node's URL). */
  POLAR_URL: z.string().url().optional(),
  /** API token for CLI commands (overrides the one saved by `polar login`). */
  POLAR_TOKEN: z.string().optional(),
  /** Where the CLI keeps its saved login (credentials.json, 0600) and shell history. */
  POLAR_CONFIG_DIR: z.string().default(join(homedir(), '.config', 'polar')),
  /** Where model files are stored: `local` (<data dir>/artifacts) or `s3` (an S3-compatible bucket). */
  POLAR_ARTIFACT_STORE: z.enum(['local', 's3']).default('local'),
  /** Bucket for the s3 artifact store; credentials come from the AWS SDK's usual environment chain. */
  POLAR_S3_BUCKET: z.string().min(3).optional(),
  /** Endpoint of an S3-compatible service (MinIO, R2, …); unset means AWS S3. */
  POLAR_S3_ENDPOINT: z.string().url().optional(),
  /** Region of the bucket. */
  POLAR_S3_REGION: z.string().min(1).default('us-east-1'),
  /** Key prefix inside the bucket, so one bucket can hold several installations. */
  POLAR_S3_PREFIX: z
    .string()
    .regex(/^((?!\.+\/)[\w.-]+\/)*$/, "must be empty or folder names ending with '/', e.g. polar/")
    .default(''),
  /** Largest total size of one uploaded model version, in bytes (default 20 GiB). */
  POLAR_MAX_UPLOAD_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .default(20 * 1024 ** 3),
  /**
   * Private addresses the gateway may reach (comma-separated hosts and CIDRs, e.g. 127.0.0.0/8,vllm.lan):
   * private, loopback and unique-local ranges are refused unless listed; link-local (cloud metadata),
   * unspecified and multicast addresses are refused always.
   */
  POLAR_EGRESS_ALLOW: egressAllow.default({ hosts: [], cidrs: [] }),
  /** Path-style URLs (bucket in the path); most S3-compatible servers need them. Default: on when an endpoint is set. */
  POLAR_S3_FORCE_PATH_STYLE: bool.optional(),
});

export type Env = z.infer<typeof envSchema>;

export interface Config {
  readonly dataDir: string;
  readonly host: string;
  readonly port: number;
  readonly databaseUrl: string | undefined;
  readonly redisUrl: string | undefined;
  readonly redisPrefix: string;
  readonly adminUsername: string;
  readonly adminPassword: string | undefined;
  readonly secretKey: string | undefined;
  readonly allowedHosts: readonly string[];
  readonly allowedOrigins: readonly string[];
  readonly bodyLimit: number;
  readonly metricsToken: string | undefined;
  readonly hfEndpoint: string;
  readonly artifactStore: 'local' | 's3';
  readonly maxUploadBytes: number;
  readonly s3: {
    readonly bucket: string | undefined;
    readonly endpoint: string | undefined;
    readonly region: string;
    readonly prefix: string;
    readonly forcePathStyle: boolean;
  };
  readonly logLevel: Env['POLAR_LOG_LEVEL'];
  readonly logFiles: boolean;
  readonly cookieSecure: boolean;
  readonly trustProxy: boolean;
  readonly url: string | undefined;
  readonly token: string | undefined;
  readonly configDir: string;
  /** Private destinations the gateway may connect to (POLAR_EGRESS_ALLOW). */
  readonly egressAllow: EgressAllowList;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

function invalid(error: z.ZodError): ConfigError {
  const lines = error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
  return new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
}

/** Parses the environment into a frozen Config; throws ConfigError naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  const picked = Object.fromEntries(
    Object.entries(env).filter(([k, v]) => k.startsWith('POLAR_') && v !== undefined && v !== ''),
  );
  const parsed = envSchema.safeParse(picked);
  if (!parsed.success) throw invalid(parsed.error);
  const e = parsed.data;
  if (e.POLAR_ARTIFACT_STORE === 's3' && !e.POLAR_S3_BUCKET) {
    throw new ConfigError('Invalid configuration:\n  POLAR_S3_BUCKET: required when POLAR_ARTIFACT_STORE=s3');
  }
  const dataDir = isAbsolute(e.POLAR_DATA_DIR) ? e.POLAR_DATA_DIR : resolve(e.POLAR_DATA_DIR);
  return Object.freeze({
    dataDir,
    host: e.POLAR_HOST,
    port: e.POLAR_PORT,
    databaseUrl: e.POLAR_DATABASE_URL,
    redisUrl: e.POLAR_REDIS_URL,
    redisPrefix: e.POLAR_REDIS_PREFIX,
    adminUsername: e.POLAR_ADMIN_USERNAME,
    adminPassword: e.POLAR_ADMIN_PASSWORD,
    secretKey: e.POLAR_SECRET_KEY,
    allowedHosts: Object.freeze([...e.POLAR_ALLOWED_HOSTS]),
    allowedOrigins: Object.freeze([...e.POLAR_ALLOWED_ORIGINS]),
    bodyLimit: e.POLAR_BODY_LIMIT,
    metricsToken: e.POLAR_METRICS_TOKEN,
    hfEndpoint: e.POLAR_HF_ENDPOINT,
    artifactStore: e.POLAR_ARTIFACT_STORE,
    maxUploadBytes: e.POLAR_MAX_UPLOAD_BYTES,
    s3: Object.freeze({
      bucket: e.POLAR_S3_BUCKET,
      endpoint: e.POLAR_S3_ENDPOINT,
      region: e.POLAR_S3_REGION,
      prefix: e.POLAR_S3_PREFIX,
      forcePathStyle: e.POLAR_S3_FORCE_PATH_STYLE ?? e.POLAR_S3_ENDPOINT !== undefined,
    }),
    logLevel: e.POLAR_LOG_LEVEL,
    logFiles: e.POLAR_LOG_FILES,
    cookieSecure: e.POLAR_COOKIE_SECURE,
    trustProxy: e.POLAR_TRUST_PROXY,
    url: e.POLAR_URL,
    token: e.POLAR_TOKEN,
    configDir: resolve(e.POLAR_CONFIG_DIR),
    egressAllow: Object.freeze({
      hosts: Object.freeze([...e.POLAR_EGRESS_ALLOW.hosts]),
      cidrs: Object.freeze(e.POLAR_EGRESS_ALLOW.cidrs.map((c) => Object.freeze({ ...c }))),
    }),
    ...overrides,
  });
}

/** What CLI client commands need: only their variables are parsed, so a server-only one cannot break them. */
export type CliConfig = Pick<Config, 'url' | 'token' | 'configDir'> & {
  /** HF_TOKEN, the Hugging Face convention, read by `polar pull` for gated or private repos. */
  hfToken?: string | undefined;
};

const cliEnvSchema = envSchema.pick({ POLAR_URL: true, POLAR_TOKEN: true, POLAR_CONFIG_DIR: true });

/** Parses the CLI's variables; throws ConfigError naming each bad one. */
export function loadCliConfig(env: NodeJS.ProcessEnv = process.env): CliConfig {
  const picked = Object.fromEntries(
    Object.entries(env).filter(([k, v]) => k in cliEnvSchema.shape && v !== undefined && v !== ''),
  );
  const parsed = cliEnvSchema.safeParse(picked);
  if (!parsed.success) throw invalid(parsed.error);
  const e = parsed.data;
  return Object.freeze({
    url: e.POLAR_URL,
    token: e.POLAR_TOKEN,
    configDir: resolve(e.POLAR_CONFIG_DIR),
    hfToken: env.HF_TOKEN || undefined,
  });
}

/** The variables with their one-line reasons, for `polar serve --help` and the README. */
export const configDocs = envSchema.shape;
