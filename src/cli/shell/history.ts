import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Enough to find last week's commands; small enough to rewrite on every line without notice. */
export const HISTORY_SIZE = 1000;

export const historyPath = (configDir: string) => join(configDir, 'shell_history');

/** Newest first, as readline wants it; empty when there is no file yet. */
export function loadHistory(file: string, size = HISTORY_SIZE): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .slice(-size)
    .reverse();
}

/**
 * Oldest first on disk, like a shell history file, bounded to `size` lines. Commands may carry
 * secrets (`--token`), so the file is private (0600), as credentials.json is.
 */
export function saveHistory(file: string, newestFirst: readonly string[], size = HISTORY_SIZE) {
  const lines = newestFirst.slice(0, size).reverse();
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, lines.length ? `${lines.join('\n')}\n` : '', { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}
