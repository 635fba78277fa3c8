import { describe, expect, it } from 'vitest';
import { RuntimeError } from '../types.js';
import { parseLoadConfig, resolveContextSize } from './config.js';

function refusal(run: () => unknown): RuntimeError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(RuntimeError);
    return err as RuntimeError;
  }
  throw new Error('expected a RuntimeError');
}

describe('llama load config', () => {
  it('fills defaults for an empty or missing config', () => {
    expect(parseLoadConfig({})).toEqual({ parallel: 1, embedding: true });
    expect(parseLoadConfig(undefined)).toEqual({ parallel: 1, embedding: true });
  });

  it('keeps valid values', () => {
    expect(
      parseLoadConfig({ context_size: 1024, threads: 3, parallel: 8, embedding: false, file: 'q4.gguf' }),
    ).toEqual({ context_size: 1024, threads: 3, parallel: 8, embedding: false, file: 'q4.gguf' });
  });

  it.each([
    [{ context_size: 255 }, 'context_size'],
    [{ context_size: '2048' }, 'context_size'],
    [{ threads: 0 }, 'threads'],
    [{ parallel: 9 }, 'parallel'],
    [{ parallel: 2.5 }, 'parallel'],
    [{ embedding: 1 }, 'embedding'],
    [{ file: '' }, 'file'],
    [{ n_gpu_layers: 99 }, 'n_gpu_layers'],
  ])('refuses %j with invalid_load_config naming %s', (config, field) => {
    const err = refusal(() => parseLoadConfig(config));
    expect(err.code).toBe('invalid_load_config');
    expect(err.status).toBe(400);
    expect(err.message).toContain(field);
  });

  it('lists the known keys when a key is unknown', () => {
    expect(refusal(() => parseLoadConfig({ ctx: 1 })).message).toContain('known: file, context_size');
  });
});

describe('context size', () => {
  it('defaults to the training context, capped at 4096 and at least 256', () => {
    expect(resolveContextSize(undefined, 2048)).toBe(2048);
    expect(resolveContextSize(undefined, 131072)).toBe(4096);
    expect(resolveContextSize(undefined, 128)).toBe(256);
    expect(resolveContextSize(undefined, 0)).toBe(4096); // the file does not say
  });

  it('takes a request up to the training context and refuses more', () => {
    expect(resolveContextSize(8192, 8192)).toBe(8192);
    const err = refusal(() => resolveContextSize(8193, 8192));
    expect(err.code).toBe('invalid_load_config');
    expect(err.message).toContain('context_size 8193');
  });
});
