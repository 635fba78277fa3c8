import { randomBytes } from 'node:crypto';
import { constants, createWriteStream } from 'node:fs';
import { lstat, open, readdir, rename, rm, unlink, utimes } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { LOG_FILE_BASENAME } from '../../platform/logger.js';

/**
 * The node's log files: JSON lines written by pino through pino-roll as
 * `polar.YYYY-MM-DD.N.log` in `<data dir>/logs`. pino-roll always writes to the highest date and
 * number, so the newest file by name is the active one; every other file is rotated and final.
 */
const LOG_FILE_RE = new RegExp(`^${LOG_FILE_BASENAME}(?:\\.(\\d{4}-\\d{2}-\\d{2}))?\\.(\\d+)\\.log$`);
const DAY_MS = 86_400_000;

export interface LogFile {
  name: string;
  path: string;
  date: string;
  seq: number;
  size: number;
  mtimeMs: number;
}

/** pino's numeric levels by the names clients may use (seed 003 writes them in capitals). */
export const LEVELS_BY_NAME = {
  TRACE: 10,
  DEBUG: 20,
  INFO: 30,
  WARN: 40,
  WARNING: 40,
  ERROR: 50,
  FATAL: 60,
  CRITICAL: 60,
} as const;
export type LevelName = keyof typeof LEVELS_BY_NAME;
export const LEVEL_NAMES = Object.keys(LEVELS_BY_NAME) as [LevelName, ...LevelName[]];

const errno = (err: unknown) => (err as NodeJS.ErrnoException).code;

/** Regular log files in `dir`, newest first; links and unrelated files are ignored. */
export async function listLogFiles(dir: string): Promise<LogFile[]> {
  const files: LogFile[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const m = e.isFile() ? LOG_FILE_RE.exec(e.name) : null;
    if (!m) continue;
    const path = join(dir, e.name);
    try {
      const st = await lstat(path);
      if (!st.isFile()) continue;
      files.push({
        name: e.name,
        path,
        date: m[1] ?? '',
        seq: Number(m[2]),
        size: st.size,
        mtimeMs: st.mtimeMs,
      });
    } catch (err) {
      if (errno(err) !== 'ENOENT') throw err;
    }
  }
  return files.sort(
    (a, b) => (a.date < b.date ? 1 : a.date > b.date ? -1 : 0) || b.seq - a.seq || b.mtimeMs - a.mtimeMs,
  );
}

/** The pino level of one line, or undefined for a line that is not a pino record. */
export function levelOfLine(line: string): number | undefined {
  // pino writes the level first; the fast path avoids parsing each of millions of lines.
  const m = /^\{"level":(\d+)[,}]/.exec(line);
  if (m) return Number(m[1]);
  if (!line.startsWith('{')) return undefined;
  try {
    const v = JSON.parse(line) as { level?: unknown };
    return typeof v.level === 'number' ? v.level : undefined;
  } catch {
    return undefined;
  }
}

function dropLevels(levels: ReadonlySet<number>): Transform {
  const keep = (line: string) => {
    const level = levelOfLine(line);
    return level === undefined || !levels.has(level);
  };
  let rest = '';
  return new Transform({
    decodeStrings: false,
    transform(chunk: string, _enc, cb) {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      let out = '';
      for (const l of lines) if (keep(l)) out += `${l}\n`;
      cb(null, out);
    },
    flush(cb) {
      cb(null, rest !== '' && keep(rest) ? rest : '');
    },
  });
}

/**
 * Rewrites a rotated file without the lines of `levels`, atomically: a reader sees the old file or
 * the new one, never a half-written one. The modification time is kept so age-based purges still
 * see when the file was written. A file left empty is removed.
 */
export async function stripLevels(
  path: string,
  levels: ReadonlySet<number>,
): Promise<{ before: number; after: number; removed: boolean }> {
  const st = await lstat(path);
  if (!st.isFile()) return { before: 0, after: 0, removed: false };
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  // O_NOFOLLOW: a link swapped in after listing is refused rather than read through.
  const source = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    await pipeline(
      source.createReadStream({ encoding: 'utf8' }),
      dropLevels(levels),
      createWriteStream(tmp, { flags: 'wx', mode: st.mode & 0o777 }),
    );
    const after = (await lstat(tmp)).size;
    if (after === 0) {
      await rm(tmp, { force: true });
      await unlink(path);
      return { before: st.size, after: 0, removed: true };
    }
    await utimes(tmp, st.atime, st.mtime);
    await rename(tmp, path);
    return { before: st.size, after, removed: false };
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  } finally {
    await source.close().catch(() => {});
  }
}

export interface PurgeOptions {
  olderThanDays: number;
  /** The newest files kept whatever their age; the active file is always kept. */
  keepLatestFiles: number;
  /** When set, only lines of these levels are removed from the selected files. */
  levels?: ReadonlySet<number> | undefined;
  now: Date;
}

export interface PurgeOutcome {
  filesRemoved: number;
  filesRewritten: number;
  bytesFreed: number;
}

async function removeFile(f: LogFile): Promise<number> {
  try {
    await unlink(f.path);
    return f.size;
  } catch (err) {
    // The logger's own retention may have removed it meanwhile.
    if (errno(err) === 'ENOENT') return -1;
    throw err;
  }
}

/**
 * Selects rotated files beyond the newest `keepLatestFiles` and last written more than
 * `olderThanDays` ago; removes them, or with `levels` removes only those levels' lines from them.
 */
export async function purgeLogFiles(dir: string, o: PurgeOptions): Promise<PurgeOutcome> {
  const files = await listLogFiles(dir);
  const cutoff = o.now.getTime() - o.olderThanDays * DAY_MS;
  const selected = files.slice(Math.max(1, o.keepLatestFiles)).filter((f) => f.mtimeMs < cutoff);
  const outcome: PurgeOutcome = { filesRemoved: 0, filesRewritten: 0, bytesFreed: 0 };
  for (const f of selected) {
    if (!o.levels) {
      const freed = await removeFile(f);
      if (freed >= 0) {
        outcome.filesRemoved++;
        outcome.bytesFreed += freed;
      }
      continue;
    }
    try {
      const r = await stripLevels(f.path, o.levels);
      outcome.bytesFreed += r.before - r.after;
      if (r.removed) outcome.filesRemoved++;
      else if (r.after < r.before) outcome.filesRewritten++;
    } catch (err) {
      if (errno(err) !== 'ENOENT') throw err;
    }
  }
  return outcome;
}

/** Removes every rotated file, keeping the active one. */
export async function removeRotatedLogs(dir: string): Promise<{ filesRemoved: number; bytesFreed: number }> {
  let filesRemoved = 0;
  let bytesFreed = 0;
  for (const f of (await listLogFiles(dir)).slice(1)) {
    const freed = await removeFile(f);
    if (freed < 0) continue;
    filesRemoved++;
    bytesFreed += freed;
  }
  return { filesRemoved, bytesFreed };
}
