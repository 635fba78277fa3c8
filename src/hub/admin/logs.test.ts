import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { levelOfLine, listLogFiles, purgeLogFiles, removeRotatedLogs, stripLevels } from './logs.js';

const NOW = new Date('2026-03-01T12:00:00Z');
const DAY = 86_400_000;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'polar-logs-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const line = (level: number, msg: string) =>
  `${JSON.stringify({ level, time: '2026-01-01T00:00:00.000Z', pid: 1, msg })}\n`;

/** Writes a log file last modified `ageDays` before NOW. */
function logFile(name: string, ageDays: number, content = line(30, name)) {
  const path = join(dir, name);
  writeFileSync(path, content);
  const t = new Date(NOW.getTime() - ageDays * DAY);
  utimesSync(path, t, t);
  return path;
}

const names = () => readdirSync(dir).sort();

describe('listLogFiles', () => {
  it('orders by date then number, newest first, and ignores other files and links', async () => {
    logFile('polar.2026-02-27.1.log', 3);
    logFile('polar.2026-02-28.9.log', 2);
    logFile('polar.2026-02-28.10.log', 2);
    logFile('polar.2026-03-01.1.log', 0);
    logFile('polar.3.log', 5);
    logFile('other.2026-03-01.1.log', 0);
    logFile('polar.2026-03-01.1.log.bak', 0);
    mkdirSync(join(dir, 'polar.2026-03-02.1.log'));
    symlinkSync(join(dir, 'polar.2026-02-27.1.log'), join(dir, 'polar.2026-03-05.1.log'));
    const files = await listLogFiles(dir);
    expect(files.map((f) => f.name)).toEqual([
      'polar.2026-03-01.1.log',
      'polar.2026-02-28.10.log',
      'polar.2026-02-28.9.log',
      'polar.2026-02-27.1.log',
      'polar.3.log',
    ]);
    expect(files[0]).toMatchObject({
      date: '2026-03-01',
      seq: 1,
      size: line(30, 'polar.2026-03-01.1.log').length,
    });
  });
});

describe('purgeLogFiles', () => {
  beforeEach(() => {
    logFile('polar.2026-01-01.1.log', 59);
    logFile('polar.2026-01-15.1.log', 45);
    logFile('polar.2026-02-10.1.log', 19);
    logFile('polar.2026-02-28.1.log', 1);
    logFile('polar.2026-03-01.1.log', 0);
  });

  it('removes files older than the cutoff and reports the bytes freed', async () => {
    const before =
      statSync(join(dir, 'polar.2026-01-01.1.log')).size + statSync(join(dir, 'polar.2026-01-15.1.log')).size;
    const r = await purgeLogFiles(dir, { olderThanDays: 30, keepLatestFiles: 0, now: NOW });
    expect(r).toEqual({ filesRemoved: 2, filesRewritten: 0, bytesFreed: before });
    expect(names()).toEqual(['polar.2026-02-10.1.log', 'polar.2026-02-28.1.log', 'polar.2026-03-01.1.log']);
  });

  it('keeps the newest keep_latest_files whatever their age', async () => {
    const r = await purgeLogFiles(dir, { olderThanDays: 0, keepLatestFiles: 4, now: NOW });
    expect(r.filesRemoved).toBe(1);
    expect(names()).not.toContain('polar.2026-01-01.1.log');
    expect(names()).toHaveLength(4);
  });

  it('never removes the active file, even when it is old and nothing is kept', async () => {
    rmSync(join(dir, 'polar.2026-03-01.1.log'));
    rmSync(join(dir, 'polar.2026-02-28.1.log'));
    const r = await purgeLogFiles(dir, { olderThanDays: 0, keepLatestFiles: 0, now: NOW });
    expect(r.filesRemoved).toBe(2);
    expect(names()).toEqual(['polar.2026-02-10.1.log']);
  });

  it('removes nothing when every file is recent or among the kept ones', async () => {
    expect(await purgeLogFiles(dir, { olderThanDays: 60, keepLatestFiles: 0, now: NOW })).toEqual({
      filesRemoved: 0,
      filesRewritten: 0,
      bytesFreed: 0,
    });
    expect(await purgeLogFiles(dir, { olderThanDays: 0, keepLatestFiles: 100, now: NOW })).toMatchObject({
      filesRemoved: 0,
    });
    expect(names()).toHaveLength(5);
  });

  it('with levels, removes only those lines from the selected files, atomically and keeping mtime', async () => {
    const mixed = [
      line(20, 'debug'),
      line(30, 'info'),
      line(40, 'warn'),
      'not json\n',
      line(50, 'error'),
    ].join('');
    const old = logFile('polar.2026-01-02.1.log', 58, mixed);
    const onlyDebug = logFile('polar.2026-01-03.1.log', 57, line(20, 'a') + line(20, 'b'));
    const recent = logFile('polar.2026-02-27.1.log', 2, mixed);
    const mtime = statSync(old).mtimeMs;
    const r = await purgeLogFiles(dir, {
      olderThanDays: 30,
      keepLatestFiles: 0,
      levels: new Set([20, 30]),
      now: NOW,
    });
    // The two old one-info-line files and the only-debug file are emptied, hence removed.
    expect(r.filesRemoved).toBe(3);
    expect(r.filesRewritten).toBe(1);
    expect(readFileSync(old, 'utf8')).toBe([line(40, 'warn'), 'not json\n', line(50, 'error')].join(''));
    expect(statSync(old).mtimeMs).toBe(mtime);
    expect(() => statSync(onlyDebug)).toThrow();
    expect(readFileSync(recent, 'utf8')).toBe(mixed);
    expect(r.bytesFreed).toBe(
      line(20, 'debug').length +
        line(30, 'info').length +
        2 * line(20, 'a').length +
        line(30, 'polar.2026-01-01.1.log').length +
        line(30, 'polar.2026-01-15.1.log').length,
    );
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });
});

describe('stripLevels', () => {
  it('handles lines split across read chunks and multibyte text', async () => {
    const keep = line(50, 'é'.repeat(300));
    const drop = line(20, 'x'.repeat(500));
    const content = Array.from({ length: 600 }, (_, i) => (i % 3 === 0 ? keep : drop)).join('');
    const path = logFile('polar.2026-01-01.1.log', 40, content);
    const r = await stripLevels(path, new Set([20]));
    const expected = Array.from({ length: 200 }, () => keep).join('');
    expect(readFileSync(path, 'utf8')).toBe(expected);
    expect(r).toEqual({
      before: Buffer.byteLength(content),
      after: Buffer.byteLength(expected),
      removed: false,
    });
  });

  it('keeps a last line without a newline', async () => {
    const path = logFile('polar.2026-01-01.1.log', 40, `${line(20, 'a')}{"level":40,"msg":"tail"}`);
    await stripLevels(path, new Set([20]));
    expect(readFileSync(path, 'utf8')).toBe('{"level":40,"msg":"tail"}');
  });

  it('refuses to read through a link', async () => {
    const target = logFile('elsewhere.txt', 40, line(20, 'secret'));
    const link = join(dir, 'polar.2026-01-01.1.log');
    symlinkSync(target, link);
    await expect(stripLevels(link, new Set([20]))).resolves.toMatchObject({ removed: false, after: 0 });
    expect(readFileSync(target, 'utf8')).toBe(line(20, 'secret'));
  });
});

describe('levelOfLine', () => {
  it('reads pino levels and ignores other lines', () => {
    expect(levelOfLine('{"level":30,"msg":"x"}')).toBe(30);
    expect(levelOfLine('{"msg":"x","level":50}')).toBe(50);
    expect(levelOfLine('{"msg":"{\\"level\\":20"}')).toBeUndefined();
    expect(levelOfLine('{"level":"info"}')).toBeUndefined();
    expect(levelOfLine('plain text')).toBeUndefined();
    expect(levelOfLine('{broken')).toBeUndefined();
    expect(levelOfLine('')).toBeUndefined();
  });
});

describe('removeRotatedLogs', () => {
  it('removes every file but the active one', async () => {
    logFile('polar.2026-02-27.1.log', 2);
    logFile('polar.2026-02-28.1.log', 1);
    logFile('polar.2026-02-28.2.log', 0);
    const r = await removeRotatedLogs(dir);
    expect(r.filesRemoved).toBe(2);
    expect(r.bytesFreed).toBeGreaterThan(0);
    expect(names()).toEqual(['polar.2026-02-28.2.log']);
  });

  it('is a no-op on an empty folder', async () => {
    expect(await removeRotatedLogs(dir)).toEqual({ filesRemoved: 0, bytesFreed: 0 });
  });
});
