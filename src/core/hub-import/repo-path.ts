import { isAbsolute, relative, resolve, sep } from 'node:path';
import { UnsafeRepoPathError } from './errors.js';

const MAX_PATH_LENGTH = 1024;

/**
 * Refuses a file name from a remote repo unless it is a plain relative path: no `..` or `.` segment,
 * no absolute or drive-letter path, no backslash, no control character, and no URL syntax (`%`, `?`,
 * `#`, `;`) — @huggingface/hub puts the name into the request URL unencoded, so such characters could
 * change which file is fetched, and percent-encoding is how traversal hides (`%2e%2e/`, `%252e`).
 * The NFKC form is checked too, so full-width dots or slashes cannot become traversal later.
 */
export function assertSafeRepoPath(path: string): void {
  if (typeof path !== 'string' || path.length === 0) throw new UnsafeRepoPathError(String(path), 'empty');
  if (path.length > MAX_PATH_LENGTH) throw new UnsafeRepoPathError(path, 'too long');
  for (const form of new Set([path, path.normalize('NFKC')])) {
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
    if (/[\u0000-\u001f\u007f]/.test(form)) throw new UnsafeRepoPathError(path, 'control character');
    if (form.includes('\\')) throw new UnsafeRepoPathError(path, 'backslash');
    if (form.includes('%')) throw new UnsafeRepoPathError(path, 'percent-encoding');
    if (/[?#;]/.test(form)) throw new UnsafeRepoPathError(path, 'URL syntax');
    if (form.startsWith('/') || /^[A-Za-z]:/.test(form) || isAbsolute(form)) {
      throw new UnsafeRepoPathError(path, 'absolute path');
    }
    if (form.includes(':')) throw new UnsafeRepoPathError(path, 'colon');
    for (const segment of form.split('/')) {
      if (segment === '') throw new UnsafeRepoPathError(path, 'empty path segment');
      if (segment === '.' || segment === '..') throw new UnsafeRepoPathError(path, 'dot segment');
    }
  }
}

/** The local path for a remote file under `dir`, after the name check and a containment check. */
export function localPathFor(dir: string, repoPath: string): string {
  assertSafeRepoPath(repoPath);
  const root = resolve(dir);
  const target = resolve(root, repoPath);
  const rel = relative(root, target);
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
    throw new UnsafeRepoPathError(repoPath, 'leaves the target directory');
  }
  return target;
}
