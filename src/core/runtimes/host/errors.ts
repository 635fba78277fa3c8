import { AppError, UnavailableError } from '../../../platform/errors.js';
import type { WireError } from './protocol.js';

/** A runtime's answer as a domain error: deliberate refusals keep their code and status. */
export function wireToAppError(err: WireError, phase: 'load' | 'request'): AppError {
  if (!err.unexpected) return new AppError(err.status, err.code, err.message);
  return new AppError(
    phase === 'load' ? 422 : 500,
    phase === 'load' ? 'model_load_failed' : 'runtime_failed',
    phase === 'load'
      ? `The runtime could not load this version: ${err.message}`
      : `The runtime failed: ${err.message}`,
  );
}

export const hostExited = (reason: string) =>
  new UnavailableError(`The model's runtime process stopped (${reason})`, 5, 'runtime_crashed');

export const hostLoadTimeout = (ms: number) =>
  new UnavailableError(
    `Loading the model took longer than ${Math.round(ms / 1000)} s`,
    30,
    'model_load_timeout',
  );
