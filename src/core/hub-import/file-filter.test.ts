import { describe, expect, it } from 'vitest';
import { globToRegExp, selectFiles } from './file-filter.js';

const repo = [
  'README.md',
  'config.json',
  'tokenizer.json',
  'tokenizer.model',
  'generation_config.json',
  'model-00001-of-00002.safetensors',
  'model-00002-of-00002.safetensors',
  'model.safetensors.index.json',
  'pytorch_model.bin',
  'training_args.bin',
  'onnx/model.onnx',
  'onnx/model.onnx_data',
  'gguf/tiny-Q4_K_M.gguf',
  'gguf/tiny-Q8_0.gguf',
].map((path) => ({ path }));

const paths = (files: { path: string }[]) => files.map((f) => f.path);

describe('selectFiles', () => {
  it('takes safetensors weights with configs and tokenizers, never pickle files', () => {
    expect(paths(selectFiles(repo, { format: 'safetensors' }))).toEqual([
      'config.json',
      'generation_config.json',
      'model-00001-of-00002.safetensors',
      'model-00002-of-00002.safetensors',
      'model.safetensors.index.json',
      'tokenizer.json',
      'tokenizer.model',
    ]);
  });

  it('takes ONNX graphs with their external data', () => {
    expect(paths(selectFiles(repo, { format: 'onnx' }))).toContain('onnx/model.onnx_data');
    expect(paths(selectFiles(repo, { format: 'onnx' }))).not.toContain('pytorch_model.bin');
  });

  it('takes one GGUF quantisation alone, whatever its case', () => {
    expect(paths(selectFiles(repo, { format: 'gguf', include: ['*q4_k_m.gguf'] }))).toEqual([
      'gguf/tiny-Q4_K_M.gguf',
    ]);
    expect(paths(selectFiles(repo, { format: 'gguf' }))).toHaveLength(2);
  });

  it('refuses pickle weights unless allowed', () => {
    expect(() => selectFiles(repo, { format: 'pytorch' })).toThrow(
      expect.objectContaining({ code: 'pickle_refused' }),
    );
    expect(paths(selectFiles(repo, { format: 'pytorch', allowPickle: true }))).toContain('pytorch_model.bin');
  });

  it('reports when nothing matches', () => {
    expect(() => selectFiles(repo, { format: 'gguf', include: ['*Q2_K.gguf'] })).toThrow(
      expect.objectContaining({ code: 'hub_no_matching_files' }),
    );
  });
});

describe('globToRegExp', () => {
  it.each([
    ['*.gguf', 'a.gguf', true],
    ['*.gguf', 'dir/a.gguf', true],
    ['dir/*.gguf', 'dir/a.gguf', true],
    ['dir/*.gguf', 'dir/sub/a.gguf', false],
    ['dir/**/*.gguf', 'dir/sub/x/a.gguf', true],
    ['dir/**/*.gguf', 'dir/a.gguf', true],
    ['model-?.onnx', 'model-1.onnx', true],
    ['model-?.onnx', 'model-12.onnx', false],
    ['a+b(c).gguf', 'a+b(c).gguf', true],
    ['*.gguf', 'a.gguf.bak', false],
  ])('%s on %s → %s', (glob, path, match) => {
    expect(globToRegExp(glob).test(path)).toBe(match);
  });
});
