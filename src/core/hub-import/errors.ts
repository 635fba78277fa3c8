import { AppError } from '../../platform/errors.js';

/**
 * Failures of talking to a Hugging Face hub. The hub's own 401 is reported as 422, not 401: a 401
 * from Polar means the caller's Polar credentials failed, which is not what happened.
 * No message here ever contains an access token (see `scrubSecret`).
 */
export class HubAuthError extends AppError {
  constructor(repo: string) {
    super(422, 'hub_auth_required', `The hub refused anonymous or invalid credentials for ${repo}`);
  }
}

export class HubAccessDeniedError extends AppError {
  constructor(repo: string) {
    super(403, 'hub_access_denied', `The hub token has no access to ${repo} (gated or restricted)`);
  }
}

export class HubNotFoundError extends AppError {
  constructor(what: 'repo' | 'revision' | 'file', name: string) {
    super(404, `hub_${what}_not_found`, `Hub ${what} not found: ${name}`);
  }
}

export class HubUnavailableError extends AppError {
  constructor(detail: string) {
    super(502, 'hub_unavailable', `The hub could not be reached or kept failing: ${detail}`);
  }
}

export class HubProtocolError extends AppError {
  constructor(detail: string) {
    super(502, 'hub_bad_response', `The hub answered something unexpected: ${detail}`);
  }
}

export class DownloadVerificationError extends AppError {
  readonly path: string;
  readonly check: 'size' | 'sha256' | 'git_sha1';
  readonly expected: string;
  readonly actual: string;

  constructor(path: string, check: 'size' | 'sha256' | 'git_sha1', expected: string, actual: string) {
    super(
      502,
      'download_verification_failed',
      `${path}: ${check} is ${actual}, expected ${expected}; the partial file was removed`,
    );
    this.path = path;
    this.check = check;
    this.expected = expected;
    this.actual = actual;
  }
}

export class InsufficientDiskSpaceError extends AppError {
  constructor(needed: number, available: number) {
    super(
      507,
      'insufficient_storage',
      `Not enough free disk space: need ${needed} bytes, ${available} available`,
    );
  }
}

export class UnsafeRepoPathError extends AppError {
  constructor(path: string, reason: string) {
    super(
      422,
      'unsafe_repo_path',
      `Refused remote file name ${JSON.stringify(path.slice(0, 200))}: ${reason}`,
    );
  }
}

export class DownloadCancelledError extends AppError {
  constructor(path: string) {
    super(409, 'download_cancelled', `Download of ${path} was cancelled`);
  }
}

export class PickleRefusedError extends AppError {
  constructor() {
    super(
      422,
      'pickle_refused',
      'Pickle-based weights (.bin, .pt, .pth, .pkl) can run code when loaded and are refused unless an admin allows storing them',
    );
  }
}

/** Replaces every occurrence of `secret`, so a token echoed by an upstream cannot leak through a message. */
export function scrubSecret(text: string, secret: string | undefined): string {
  if (!secret) return text;
  return text.split(secret).join('[redacted]');
}

export class NoMatchingFilesError extends AppError {
  constructor(format: string, include: readonly string[]) {
    const filter = include.length > 0 ? ` matching ${include.join(', ')}` : '';
    super(404, 'hub_no_matching_files', `The repo has no ${format} weights${filter}`);
  }
}

/** The job's requester can no longer act, so the job registers nothing on their behalf. */
export class DownloadOwnerInactiveError extends AppError {
  constructor(state: 'disabled' | 'deleted') {
    super(409, 'download_owner_inactive', `The account that requested this import was ${state}`);
  }
}
