import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { AppError, type FieldError } from '../errors.js';
import { sendProblem } from './problem.js';

/** Fastify's own coded errors that come from bad client input, mapped to stable codes. */
const FASTIFY_CODES: Record<string, { status: number; code: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'body_too_large' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'unsupported_media_type' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'invalid_content_length' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'empty_json_body' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'invalid_json' },
  FST_ERR_BAD_URL: { status: 400, code: 'bad_url' },
  FST_ERR_ASYNC_CONSTRAINT: { status: 400, code: 'bad_request' },
};

/**
 * A transport may format its own errors (the OpenAI-compatible /v1 API answers in OpenAI's shape);
 * everything else is problem+json.
 */
export type ErrorFormatter = (
  request: FastifyRequest,
  reply: FastifyReply,
  e: { status: number; code: string; detail: string; errors?: FieldError[] },
) => unknown;

export function registerErrorHandling(
  app: FastifyInstance,
  formatters: { prefix: string; format: ErrorFormatter }[] = [],
) {
  const respond = (
    request: FastifyRequest,
    reply: FastifyReply,
    status: number,
    code: string,
    detail: string,
    errors?: FieldError[],
  ) => {
    const f = formatters.find((x) => request.url.startsWith(x.prefix));
    if (f) return f.format(request, reply, { status, code, detail, ...(errors ? { errors } : {}) });
    return sendProblem(request, reply, status, code, detail, errors);
  };

  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err instanceof AppError) {
      const log =
        err.status >= 500 ? request.log.error.bind(request.log) : request.log.warn.bind(request.log);
      log({ code: err.code, status: err.status }, err.message);
      if (err.retryAfter !== undefined)
        reply.header('retry-after', String(Math.max(1, Math.ceil(err.retryAfter))));
      if (err.headers) reply.headers(err.headers);
      return respond(request, reply, err.status, err.code, err.message, err.errors);
    }
    if (hasZodFastifySchemaValidationErrors(err)) {
      const errors = err.validation.map((v) => ({
        path: `${err.validationContext ?? 'body'}${v.instancePath.replaceAll('/', '.')}`,
        message: v.message ?? 'is invalid',
      }));
      request.log.warn({ code: 'validation_error', errors }, 'request validation failed');
      return respond(request, reply, 400, 'validation_error', 'The request is not valid', errors);
    }
    if (isResponseSerializationError(err)) {
      request.log.error({ err, issues: err.cause.issues }, 'response does not match its schema');
      return respond(request, reply, 500, 'internal_error', 'An unexpected error occurred');
    }
    const mapped = err.code ? FASTIFY_CODES[err.code] : undefined;
    if (mapped) {
      request.log.warn({ code: mapped.code }, err.message);
      return respond(request, reply, mapped.status, mapped.code, err.message);
    }
    if (err.statusCode === 429) {
      return respond(request, reply, 429, 'rate_limited', err.message);
    }
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      request.log.warn({ err }, 'client error');
      return respond(request, reply, err.statusCode, 'bad_request', err.message);
    }
    request.log.error({ err }, 'unexpected error');
    return respond(request, reply, 500, 'internal_error', 'An unexpected error occurred');
  });

  app.setNotFoundHandler((request, reply) =>
    respond(
      request,
      reply,
      404,
      'route_not_found',
      `No route for ${request.method} ${request.url.split('?')[0]}`,
    ),
  );
}
