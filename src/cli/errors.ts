import { CommanderError } from 'commander';

/** The process exit codes of `polar`; scripts branch on them, so they never change meaning. */
export const EXIT = {
  ok: 0,
  error: 1,
  usage: 2,
  unauthenticated: 3,
  forbidden: 4,
  notFound: 5,
  conflict: 6,
  unreachable: 7,
  rateLimited: 8,
} as const;

export const EXIT_CODES_HELP = `Exit codes:
  0  success
  1  other error (server error, not ready, ...)
  2  usage or validation error (bad arguments, HTTP 400/413/415/422)
  3  not authenticated (HTTP 401): run \`polar login\`
  4  forbidden (HTTP 403)
  5  not found (HTTP 404)
  6  conflict (HTTP 409)
  7  server unreachable (connection refused, DNS, timeout)
  8  rate limited (HTTP 429)`;

/** A problem+json answer (or any non-2xx) from the API. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    /** The parsed body as the server sent it (problem+json or anything else). */
    readonly body: unknown,
    readonly requestId: string | undefined,
  ) {
    super(detail);
  }

  get fieldErrors(): { path: string; message: string }[] {
    const errors = (this.body as { errors?: unknown } | null)?.errors;
    return Array.isArray(errors) ? (errors as { path: string; message: string }[]) : [];
  }
}

/** The node could not be reached at all (nothing listening, DNS, TLS, timeout). */
export class UnreachableError extends Error {
  override readonly name = 'UnreachableError';
}

/** Bad arguments detected before any request is sent. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Ends a command with a given exit code after it has already said everything it had to say. */
export class SilentExit extends Error {
  override readonly name = 'SilentExit';
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
  }
}

export function exitCodeForStatus(status: number): number {
  switch (status) {
    case 400:
    case 413:
    case 415:
    case 422:
      return EXIT.usage;
    case 401:
      return EXIT.unauthenticated;
    case 403:
      return EXIT.forbidden;
    case 404:
      return EXIT.notFound;
    case 409:
      return EXIT.conflict;
    case 429:
      return EXIT.rateLimited;
    default:
      return EXIT.error;
  }
}

export function exitCodeFor(err: unknown): number {
  if (err instanceof ApiError) return exitCodeForStatus(err.status);
  if (err instanceof UnreachableError) return EXIT.unreachable;
  if (err instanceof UsageError) return EXIT.usage;
  if (err instanceof SilentExit) return err.exitCode;
  // Commander signals --help/--version with exit code 0 and every parse error with 1.
  if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  return EXIT.error;
}

/** The text printed to stderr for a failed command; empty when Commander already printed it. */
export function describeError(err: unknown): string {
  if (err instanceof ApiError) {
    const lines = [`Error: ${err.detail} (${err.code}, HTTP ${err.status})`];
    for (const f of err.fieldErrors) lines.push(`  ${f.path}: ${f.message}`);
    if (err.status === 401) lines.push('Sign in with `polar login` (or set POLAR_TOKEN).');
    return lines.join('\n');
  }
  if (err instanceof CommanderError || err instanceof SilentExit) return '';
  if (err instanceof Error) return `Error: ${err.message}`;
  return `Error: ${String(err)}`;
}
