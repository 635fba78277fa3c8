import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { access, link, lstat, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { resolveInside } from '../artifacts/paths.js';
import type { ArtifactStore } from '../artifacts/store.js';

const DONE = '.polar-complete';

/** A store that keeps blobs as local files can hand out their paths, so nothing is copied. */
interface LocalPaths {
  localPath(sha256: string): string;
}
const hasLocalPaths = (s: ArtifactStore): s is ArtifactStore & LocalPaths =>
  typeof (s as Partial<LocalPaths>).localPath === 'function';

/**
 * Lays a version's files out under `<root>/<versionId>/` at their registry paths, as runtimes expect
 * them (a Hugging Face layout needs config.json beside onnx/model.onnx). Files are hard links to the
 * local store's blobs when possible, copies otherwise. Versions are immutable, so a finished
 * directory is reused; an unfinished one (crash) is rebuilt.
 */
export async function materializeVersion(
  store: ArtifactStore,
  root: string,
  versionId: string,
  files: { path: string; sha256: string }[],
): Promise<string> {
  const dir = join(root, versionId);
  if (await exists(join(dir, DONE))) return dir;
  const tmp = `${dir}.tmp-${randomBytes(4).toString('hex')}`;
  await mkdir(tmp, { recursive: true });
  try {
    for (const f of files) {
      const target = await resolveInside(tmp, f.path);
      await mkdir(dirname(target), { recursive: true });
      if (!(hasLocalPaths(store) && (await tryLink(store.localPath(f.sha256), target)))) {
        await pipeline(await store.open(f.sha256), createWriteStream(target));
      }
    }
    await writeFile(join(tmp, DONE), '');
    try {
      await rename(tmp, dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
      // Another caller laid the same version out meanwhile: theirs may be in use, so it stays.
      if (await exists(join(dir, DONE))) {
        await rm(tmp, { recursive: true, force: true });
        return dir;
      }
      // What is there was left half-removed (clean_cache); replace it.
      await rm(dir, { recursive: true, force: true });
      await rename(tmp, dir);
    }
    return dir;
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

async function tryLink(from: string, to: string) {
  try {
    await link(from, to);
    return true;
  } catch {
    return false; // another filesystem, or links not allowed: copy instead
  }
}

async function exists(p: string) {
  try {
    await access(p);
    return true;
  } catch {
    return false;
  }
}

/**
 * Deletes every laid-out version under `root` but those in `keep` (loaded ones); answers the bytes
 * freed. Hard links free nothing until the store drops the blob too, so only their own size counts
 * when the link count says they are the last name.
 */
export async function removeCacheDirs(root: string, keep: ReadonlySet<string>): Promise<number> {
  let names: string[];
  try {
    names = await readdir(root);
  } catch {
    return 0;
  }
  let freed = 0;
  for (const name of names) {
    if (keep.has(name)) continue;
    const dir = join(root, name);
    freed += await sizeOf(dir);
    await rm(dir, { recursive: true, force: true });
  }
  return freed;
}

async function sizeOf(path: string): Promise<number> {
  const st = await lstat(path);
  if (!st.isDirectory()) return st.nlink > 1 ? 0 : st.size;
  let total = 0;
  for (const e of await readdir(path)) total += await sizeOf(join(path, e));
  return total;
}
