import { CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import {
  ApiError,
  describeError,
  EXIT,
  EXIT_CODES_HELP,
  exitCodeFor,
  exitCodeForStatus,
  SilentExit,
  UnreachableError,
  UsageError,
} from './errors.js';

const apiError = (status: number, body: unknown = {}) =>
  new ApiError(status, 'some_code', 'Some detail', body, 'r-1');

describe('exit codes', () => {
  it.each([
    [400, EXIT.usage],
    [413, EXIT.usage],
    [415, EXIT.usage],
    [422, EXIT.usage],
    [401, EXIT.unauthenticated],
    [403, EXIT.forbidden],
    [404, EXIT.notFound],
    [409, EXIT.conflict],
    [429, EXIT.rateLimited],
    [500, EXIT.error],
    [503, EXIT.error],
    [418, EXIT.error],
  ])('HTTP %i → %i', (status, code) => {
    expect(exitCodeForStatus(status)).toBe(code);
    expect(exitCodeFor(apiError(status))).toBe(code);
  });

  it('maps errors that are not HTTP answers', () => {
    expect(exitCodeFor(new UnreachableError('down'))).toBe(7);
    expect(exitCodeFor(new UsageError('bad'))).toBe(2);
    expect(exitCodeFor(new SilentExit(6))).toBe(6);
    expect(exitCodeFor(new CommanderError(0, 'commander.helpDisplayed', '(outputHelp)'))).toBe(0);
    expect(exitCodeFor(new CommanderError(1, 'commander.unknownOption', 'bad'))).toBe(2);
    expect(exitCodeFor(new Error('boom'))).toBe(1);
    expect(exitCodeFor('thrown string')).toBe(1);
  });

  it('documents every code in the help epilogue', () => {
    for (const code of Object.values(EXIT)) expect(EXIT_CODES_HELP).toMatch(new RegExp(`^  ${code}  `, 'm'));
  });
});

describe('describeError', () => {
  it('prints the problem detail, code and field errors', () => {
    const text = describeError(apiError(400, { errors: [{ path: 'body.role', message: 'Invalid option' }] }));
    expect(text).toBe('Error: Some detail (some_code, HTTP 400)\n  body.role: Invalid option');
  });

  it('tells how to sign in on 401', () => {
    expect(describeError(apiError(401))).toMatch(/polar login/);
  });

  it('stays silent for errors already reported', () => {
    expect(describeError(new CommanderError(1, 'commander.unknownCommand', 'x'))).toBe('');
    expect(describeError(new SilentExit(3))).toBe('');
    expect(describeError(new UsageError('Give --yes'))).toBe('Error: Give --yes');
  });
});
