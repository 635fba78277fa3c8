import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assertSafeRepoPath, localPathFor } from './repo-path.js';

const hostile = [
  '',
  '..',
  '../x',
  'a/../../x',
  'a/..',
  './x',
  '/abs',
  '/etc/passwd',
  'a\\b',
  '..\\x',
  'C:/x',
  'c:x',
  '%2e%2e/x',
  '%252e%252e/x',
  'a%2fb',
  'x?y',
  'x#y',
  'x;y',
  'a//b',
  'a/',
  'a\u0000b',
  'a\nb',
  '\uff0e\uff0e/x',
  'a:stream',
  // Windows would drop the trailing dots, or open a device instead of a file.
  'x...',
  'model.',
  'CON',
  'nul.json',
  'onnx/com1.onnx',
];

describe('assertSafeRepoPath', () => {
  it.each(hostile)('refuses %j', (p) => {
    expect(() => assertSafeRepoPath(p)).toThrow(expect.objectContaining({ code: 'unsafe_repo_path' }));
  });

  it.each([
    'model.safetensors',
    'onnx/model.onnx',
    'a/b/c-Q4_K_M.gguf',
    '.gitattributes',
    'a..b',
    'console.json',
  ])('accepts %j', (p) => {
    expect(() => assertSafeRepoPath(p)).not.toThrow();
  });

  it('never lets an accepted name resolve outside the target directory', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('a', '.', '..', '/', '\\', '%', '2e', 'é', ':', '\uff0e'), {
          maxLength: 12,
        }),
        (parts) => {
          const p = parts.join('');
          let accepted = true;
          try {
            assertSafeRepoPath(p);
          } catch {
            accepted = false;
          }
          if (accepted) expect(localPathFor('/store/root', p).startsWith('/store/root/')).toBe(true);
        },
      ),
    );
  });
});
