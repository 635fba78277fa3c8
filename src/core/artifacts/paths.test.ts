import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../platform/errors.js';
import { resolveInside, safeRelativePath } from './paths.js';

function expectUnsafe(input: unknown): void {
  try {
    safeRelativePath(input);
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('unsafe_path');
    expect((err as AppError).status).toBe(400);
    return;
  }
  throw new Error(`accepted ${JSON.stringify(input)}`);
}

describe('safeRelativePath', () => {
  it.each([
    'model.gguf',
    'onnx/model.onnx',
    'a/b/c/d.safetensors',
    'tokenizer.json',
    '.gitattributes',
    'weights-00001-of-00002.safetensors',
    'Qwen2.5-0.5B-Instruct-Q4_K_M.gguf',
    'dir with space/file name.txt',
    'ünïcødé/模型.bin',
    // Near misses of Windows device names are ordinary names.
    'console.json',
    'CONTRIBUTING.md',
    'auxiliary/aux_loss.py',
    'null.bin',
    'com10.txt',
    'lpt.txt',
    'nul-model/weights.bin',
    'v1.0/model.onnx',
    'a.b.c',
  ])('accepts %s', (p) => {
    expect(safeRelativePath(p)).toBe(p.normalize('NFC'));
  });

  it('returns the NFC form so one name has one key', () => {
    expect(safeRelativePath('cafe\u0301.txt')).toBe('caf\u00e9.txt');
  });

  it.each([
    ['parent segment', '../etc/passwd'],
    ['inner parent segment', 'a/../../b'],
    ['trailing parent', 'a/..'],
    ['bare parent', '..'],
    ['dot segment', './a'],
    ['inner dot', 'a/./b'],
    ['dots only', '...'],
    ['dot and space', '.. '],
    ['absolute', '/etc/passwd'],
    ['double slash absolute', '//server/share'],
    ['backslash', 'a\\b'],
    ['backslash traversal', '..\\..\\windows'],
    ['drive letter', 'C:/Windows/system32'],
    ['drive letter relative', 'c:evil'],
    ['url scheme', 'file:///etc/passwd'],
    ['ntfs stream', 'model.bin::$DATA'],
    ['NUL', 'a\u0000b'],
    ['newline', 'a\nb'],
    ['tab', 'a\tb'],
    ['DEL', 'a\u007fb'],
    ['C1 control', 'a\u0085b'],
    ['bidi override', 'exe.\u202egguf'],
    ['line separator', 'a\u2028b'],
    ['percent-encoded dots', '%2e%2e/secret'],
    ['percent-encoded slash', '..%2fsecret'],
    ['double-encoded dots', '%252e%252e/secret'],
    ['encoded backslash', '..%5csecret'],
    ['fragment', 'model.gguf#../../x'],
    ['query', 'model.gguf?x=../../y'],
    ['semicolon', '..;/secret'],
    ['matrix param', 'a;jsessionid=1/b'],
    ['empty', ''],
    ['empty segment', 'a//b'],
    ['trailing slash', 'a/'],
    ['leading space', ' a'],
    ['trailing space', 'a /b'],
    ['full-width dots', '\uff0e\uff0e/secret'],
    ['full-width solidus', 'a\uff0fb'],
    ['full-width backslash', 'a\uff3cb'],
    ['lone surrogate', 'a\ud800b'],
    ['trailing dot', 'model.'],
    ['trailing dot in a directory', 'onnx./model.onnx'],
    ['trailing dots', 'model..'],
    ['trailing space after a dot', 'model. '],
  ])('refuses %s', (_name, p) => {
    expectUnsafe(p);
  });

  it.each([
    'CON',
    'con',
    'PRN',
    'aux',
    'Nul',
    'COM1',
    'com9',
    'COM0',
    'LPT1',
    'lpt9',
    'CONIN$',
    'conout$',
    'com\u00b9',
    'lpt\u00b3',
    'NUL.txt',
    'nul.tar.gz',
    'Com3.json',
    'aux .txt',
    'models/CON',
    'prn/model.bin',
    'a/b/LPT2.safetensors',
  ])('refuses the Windows device name %s, with or without extension, in any case', (p) => {
    expectUnsafe(p);
  });

  it('refuses non-strings', () => {
    for (const v of [undefined, null, 1, {}, ['a']]) expectUnsafe(v);
  });

  it('refuses overly long paths, segments and depths', () => {
    expectUnsafe('a'.repeat(256));
    expectUnsafe('é'.repeat(128)); // 256 bytes in UTF-8
    expectUnsafe(Array.from({ length: 600 }, () => 'ab').join('/'));
    expectUnsafe(Array.from({ length: 33 }, () => 'a').join('/'));
    expect(safeRelativePath('a'.repeat(255))).toHaveLength(255);
  });

  it('anything accepted stays under a root when joined or resolved', () => {
    const root = resolve('/srv/polar/artifacts');
    fc.assert(
      fc.property(
        fc.constantFrom('/', '', '\\'),
        fc.array(
          fc.oneof(
            fc.constantFrom('..', '.', '', '/', '\\', '%2e', '%25', 'C:', '\u0000', '\uff0e', ' ', '#', '?'),
            fc.string({ maxLength: 8 }),
            fc.string({ unit: 'binary', maxLength: 8 }),
          ),
          { maxLength: 12 },
        ),
        (separator, parts) => {
          const input = parts.join(separator);
          let safe: string;
          try {
            safe = safeRelativePath(input);
          } catch (err) {
            expect((err as AppError).code).toBe('unsafe_path');
            return;
          }
          const joined = resolve(root, safe);
          expect(joined.startsWith(root + sep)).toBe(true);
          expect(relative(root, joined).split(sep)).not.toContain('..');
          expect(safeRelativePath(safe)).toBe(safe);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('resolveInside', () => {
  let root: string;
  let outside: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'polar-paths-'));
    outside = await mkdtemp(join(tmpdir(), 'polar-outside-'));
    await mkdir(join(root, 'real'), { recursive: true });
    await writeFile(join(root, 'real', 'f.txt'), 'x');
    await writeFile(join(outside, 'secret'), 'secret');
    await symlink(outside, join(root, 'link'));
    await symlink(join(outside, 'secret'), join(root, 'real', 'file-link'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  });

  it('resolves existing and not-yet-existing paths inside the root', async () => {
    const base = await import('node:fs/promises').then((m) => m.realpath(root));
    expect(await resolveInside(root, 'real/f.txt')).toBe(join(base, 'real', 'f.txt'));
    expect(await resolveInside(root, 'new/dir/file')).toBe(join(base, 'new', 'dir', 'file'));
  });

  it('refuses a directory symlink on the way', async () => {
    await expect(resolveInside(root, 'link/secret')).rejects.toMatchObject({ code: 'unsafe_path' });
  });

  it('refuses a file symlink at the end', async () => {
    await expect(resolveInside(root, 'real/file-link')).rejects.toMatchObject({ code: 'unsafe_path' });
  });

  it('refuses unsafe input before touching the disk', async () => {
    await expect(resolveInside(root, '../x')).rejects.toMatchObject({ code: 'unsafe_path' });
  });
});
