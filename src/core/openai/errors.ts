import { AppError, type FieldError, UnavailableError } from '../../platform/errors.js';
import type { ErrorFormatter } from '../../platform/http/error-handler.js';

/** OpenAI's ErrorResponse body; `code` is Polar's stable error code. */
export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

function typeOf(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

/** `body.messages.0.content` → `messages[0].content`: the request field, as OpenAI names params. */
function paramOf(path: string | undefined): string | null {
  if (!path) return null;
  const field = path.replace(/^(body|params|querystring|headers)(\.|$)/, '');
  return field ? field.replace(/\.(\d+)(?=\.|$)/g, '[$1]') : null;
}

export function openAIError(e: {
  status: number;
  code: string;
  detail: string;
  errors?: FieldError[] | undefined;
}): OpenAIErrorBody {
  const fields = e.errors ?? [];
  // OpenAI's shape has one message: field errors go into it so nothing the problem form says is lost.
  const message =
    fields.length > 0 && !fields.every((f) => f.message === e.detail)
      ? `${e.detail}: ${fields.map((f) => [paramOf(f.path), f.message].filter(Boolean).join(': ')).join('; ')}`
      : e.detail;
  return {
    error: { message, type: typeOf(e.status), param: paramOf(fields[0]?.path), code: e.code },
  };
}

/** The error handler's formatter for every answer under /v1/, including 401s and unknown paths. */
export const formatOpenAIError: ErrorFormatter = (_request, reply, e) =>
  reply.code(e.status).type('application/json; charset=utf-8').send(openAIError(e));

/** A failure after a stream has started, as the `data: {"error": ...}` event that ends it. */
export function streamError(err: unknown): { body: OpenAIErrorBody; expected: boolean } {
  if (err instanceof AppError)
    return {
      body: openAIError({ status: err.status, code: err.code, detail: err.message, errors: err.errors }),
      expected: err.status < 500,
    };
  return {
    body: openAIError({ status: 500, code: 'internal_error', detail: 'An unexpected error occurred' }),
    expected: false,
  };
}

/** OpenAI has no finish_reason for an interrupted generation, so it is reported as an error. */
export const generationCancelled = () =>
  new UnavailableError('The generation was cancelled before it finished', 1, 'generation_cancelled');
