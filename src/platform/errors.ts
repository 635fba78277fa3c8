/**
 * Domain errors. Services throw these; one Fastify error handler maps them to problem+json.
 * `code` is stable and documented; `status` is the HTTP status the handler answers with.
 */
export interface FieldError {
  path: string;
  message: string;
}

export class AppError extends Error {
  readonly code: string;
  readonly status: number;
  readonly errors: FieldError[] | undefined;
  /** Seconds a client should wait before retrying (429/503). */
  readonly retryAfter: number | undefined;
  /** Extra headers the HTTP layer adds to the answer (e.g. x-ratelimit-*). */
  readonly headers: Record<string, string> | undefined;

  constructor(
    status: number,
    code: string,
    message: string,
    opts: {
      errors?: FieldError[];
      retryAfter?: number;
      headers?: Record<string, string>;
      cause?: unknown;
    } = {},
  ) {
    super(message, { cause: opts.cause });
    this.name = new.target.name;
    this.status = status;
    this.code = code;
    this.errors = opts.errors;
    this.retryAfter = opts.retryAfter;
    this.headers = opts.headers;
  }
}

export class ValidationError extends AppError {
  constructor(message: string, errors?: FieldError[], code = 'validation_error') {
    super(400, code, message, { errors });
  }
}

export class UnauthorizedError extends AppError {
  constructor(message = 'Authentication required', code = 'unauthorized') {
    super(401, code, message);
  }
}

export class ForbiddenError extends AppError {
  constructor(message = 'You do not have permission to do this', code = 'forbidden') {
    super(403, code, message);
  }
}

export class NotFoundError extends AppError {
  constructor(what: string, code = `${what.toLowerCase().replace(/\s+/g, '_')}_not_found`) {
    super(404, code, `${what} not found`);
  }
}

export class ConflictError extends AppError {
  constructor(message: string, code = 'conflict') {
    super(409, code, message);
  }
}

export class TooManyRequestsError extends AppError {
  constructor(message: string, retryAfter: number, code = 'rate_limited', headers?: Record<string, string>) {
    super(429, code, message, { retryAfter, headers });
  }
}

export class UnavailableError extends AppError {
  constructor(message: string, retryAfter = 5, code = 'unavailable') {
    super(503, code, message, { retryAfter });
  }
}
