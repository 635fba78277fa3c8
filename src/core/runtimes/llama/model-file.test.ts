import { describe, expect, it } from 'vitest';
import type { LoadSpec } from '../types.js';
import { resolveModelFile } from './model-file.js';

const spec = (...paths: string[]): LoadSpec => ({
  dir: '/models/v1',
  files: paths.map((path) => ({ path, size: 1, format: path.endsWith('.gguf') ? 'gguf' : 'other' })),
  format: 'gguf',
  task: 'chat',
  config: {},
});

describe('GGUF file choice', () => {
  it('takes the only GGUF file, ignoring other files and multimodal projectors', () => {
    expect(resolveModelFile(spec('README.md', 'model.Q4_K_M.gguf', 'mmproj-model-f16.gguf'), undefined)).toBe(
      '/models/v1/model.Q4_K_M.gguf',
    );
  });

  it('takes the first shard of a split model', () => {
    const s = spec('big-00002-of-00003.gguf', 'big-00001-of-00003.gguf', 'big-00003-of-00003.gguf');
    expect(resolveModelFile(s, undefined)).toBe('/models/v1/big-00001-of-00003.gguf');
  });

  it('asks for `file` when there are several, and takes the chosen one', () => {
    const s = spec('q4/model.gguf', 'q8/model.gguf');
    expect(() => resolveModelFile(s, undefined)).toThrow(/several GGUF files; choose one of q4\/model.gguf/);
    expect(resolveModelFile(s, 'q8/model.gguf')).toBe('/models/v1/q8/model.gguf');
    expect(() => resolveModelFile(s, 'q5/model.gguf')).toThrow(
      expect.objectContaining({ code: 'invalid_load_config' }),
    );
  });

  it('refuses a version without GGUF and a path that leaves the directory', () => {
    expect(() => resolveModelFile(spec('config.json'), undefined)).toThrow(
      expect.objectContaining({ code: 'model_file_missing', status: 422 }),
    );
    expect(() => resolveModelFile(spec('../../etc/x.gguf'), undefined)).toThrow(
      /leaves the version directory/,
    );
  });
});
