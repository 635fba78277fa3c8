import type { Dirent } from 'node:fs';
import { lstat, readdir, realpath, rm } from 'node:fs/promises';
import { join, sep } from 'node:path';

/**
 * File housekeeping confined to the data dir. Nothing here follows a symbolic link: a link inside
 * the data dir is removed as a link, and a maintained folder that is itself a link is refused, so
 * no operation can reach files outside the data dir.
 */
export class OutsideDataDirError extends Error {
  constructor(name: string) {
    super(`${name} is a symbolic link or leaves the data dir; it is not touched`);
  }
}

const errno = (err: unknown) => (err as NodeJS.ErrnoException).code;

/**
 * The absolute path of `<dataDir>/<name>` when it is a real directory inside the data dir; null
 * when it does not exist (nothing to clean).
 */
export async function confinedDir(dataDir: string, name: string): Promise<string | null> {
  if (!/^[\w-][\w.-]*$/.test(name)) throw new OutsideDataDirError(name);
  const path = join(dataDir, name);
  let st: Awaited<ReturnType<typeof lstat>>;
  try {
    st = await lstat(path);
  } catch (err) {
    if (errno(err) === 'ENOENT') return null;
    throw err;
  }
  if (st.isSymbolicLink() || !st.isDirectory()) throw new OutsideDataDirError(name);
  const [realRoot, realPath] = await Promise.all([realpath(dataDir), realpath(path)]);
  if (!realPath.startsWith(realRoot + sep)) throw new OutsideDataDirError(name);
  return path;
}

/** Bytes under `path` (a link counts as itself, never its target). */
export async function sizeOf(path: string): Promise<number> {
  let st: Awaited<ReturnType<typeof lstat>>;
  try {
    st = await lstat(path);
  } catch (err) {
    if (errno(err) === 'ENOENT') return 0;
    throw err;
  }
  if (!st.isDirectory()) return st.size;
  let total = 0;
  let entries: Dirent[];
  try {
    entries = await readdir(path, { withFileTypes: true });
  } catch (err) {
    if (errno(err) === 'ENOENT') return 0;
    throw err;
  }
  for (const e of entries) total += await sizeOf(join(path, e.name));
  return total;
}

/** Removes everything inside `dir` (which stays); answers the bytes freed. */
export async function emptyDir(dir: string): Promise<number> {
  let freed = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    const size = await sizeOf(path);
    // rm does not follow links: a link is unlinked, never its target's content.
    await rm(path, { recursive: true, force: true });
    freed += size;
  }
  return freed;
}
