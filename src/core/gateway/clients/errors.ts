import { AppError } from '../../../platform/errors.js';

/**
 * Everything that can go wrong talking to an upstream provider, as one typed error. `retryable`
 * tells the routing engine whether another attempt (or another target) may succeed; `status` is what
 * Polar answers when the failure reaches a client. Messages never hold a credential: every text that
 * comes from the upstream passes through `scrub` first, and auth failures drop the upstream's words
 * entirely (providers like to echo the key they refused).
 */
export const UPSTREAM_ERRORS = {
  /** 401/403 from the upstream: the key is wrong, expired or lacks access. */
  upstream_unauthorized: { status: 502, retryable: false },
  /** 402: the account has no credit. */
  upstream_payment_required: { status: 502, retryable: false },
  /** 429: the upstream's rate limit; Retry-After is passed on. */
  upstream_rate_limited: { status: 429, retryable: true },
  /** 400/404/422: the upstream refused the request itself (unknown model, bad parameter). */
  upstream_rejected: { status: 502, retryable: false },
  /** 5xx and other statuses. */
  upstream_error: { status: 502, retryable: true },
  /** No answer (or no next chunk) within the time limit. */
  upstream_timeout: { status: 504, retryable: true },
  /** The connection could not be made (refused, no such host, TLS failure). */
  upstream_unreachable: { status: 502, retryable: true },
  /** The connection dropped before the answer was complete. */
  upstream_disconnected: { status: 502, retryable: true },
  /** The answer is not what the API promises: bad JSON, wrong shape, too large. */
  upstream_bad_response: { status: 502, retryable: true },
  /** A 3xx: Polar never follows redirects, since they could lead anywhere the policy forbids. */
  upstream_redirect: { status: 502, retryable: false },
  /** The egress policy refused the address the connection would go to. */
  egress_denied: { status: 502, retryable: false },
  /** The caller went away; nothing to answer. */
  upstream_cancelled: { status: 499, retryable: false },
} as const;
export type UpstreamErrorCode = keyof typeof UPSTREAM_ERRORS;

export class UpstreamError extends AppError {
  readonly retryable: boolean;
  /** The upstream's HTTP status, when it answered. */
  readonly upstreamStatus: number | undefined;

  constructor(
    code: UpstreamErrorCode,
    message: string,
    opts: { upstreamStatus?: number | undefined; retryAfter?: number | undefined; cause?: unknown } = {},
  ) {
    const def = UPSTREAM_ERRORS[code];
    super(def.status, code, message, {
      ...(opts.retryAfter !== undefined ? { retryAfter: opts.retryAfter } : {}),
      ...(opts.cause !== undefined ? { cause: opts.cause } : {}),
    });
    this.retryable = def.retryable;
    this.upstreamStatus = opts.upstreamStatus;
  }
}

/** Removes every secret (and anything that could be one) from text that came from outside. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('[redacted]');
  // Bearer tokens and key-looking words (sk-…, pk_…) that the upstream may have echoed in part.
  return out
    .replace(/(bearer\s+)\S+/gi, '$1[redacted]')
    .replace(/\b(sk|pk|rk)[-_][A-Za-z0-9_*-]{6,}/g, '[redacted]');
}

/** The error a non-2xx answer becomes; `detail` is the upstream's own message, already scrubbed. */
export function statusError(
  status: number,
  detail: string | undefined,
  retryAfter: number | undefined,
): UpstreamError {
  const tail = detail ? `: ${detail}` : '';
  const opts = { upstreamStatus: status, retryAfter };
  if (status === 401 || status === 403)
    return new UpstreamError(
      'upstream_unauthorized',
      `The upstream refused the credentials (${status}); check the provider's API key`,
      opts,
    );
  if (status === 402)
    return new UpstreamError('upstream_payment_required', `The upstream asks for payment (402)${tail}`, opts);
  if (status === 429)
    return new UpstreamError('upstream_rate_limited', `The upstream is rate limiting (429)${tail}`, {
      ...opts,
      retryAfter: retryAfter ?? 1,
    });
  if (status === 400 || status === 404 || status === 409 || status === 413 || status === 422)
    return new UpstreamError(
      'upstream_rejected',
      `The upstream refused the request (${status})${tail}`,
      opts,
    );
  return new UpstreamError('upstream_error', `The upstream failed (${status})${tail}`, opts);
}
