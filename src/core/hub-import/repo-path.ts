import { isAbsolute, relative, resolve, sep } from 'node:path';
import { safeRelativePath } from '../artifacts/paths.js';
import { UnsafeRepoPathError } from './errors.js';

/**
 * Refuses a file name from a remote repo unless the shared rule for every stored path
 * (`safeRelativePath`) accepts it: one allow-list for uploads, archives and hub listings alike.
 * @huggingface/hub puts the name into the request URL unencoded, which that rule's refusal of
 * `%`, `?`, `#` and `;` covers.
 */
export function assertSafeRepoPath(path: string): void {
  try {
    safeRelativePath(path);
  } catch (err) {
    const reason = err instanceof Error ? (err.message.split(': ').pop() ?? 'unsafe') : 'unsafe';
    throw new UnsafeRepoPathError(String(path), reason);
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
