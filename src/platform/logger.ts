import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pino, { type Logger, type StreamEntry } from 'pino';
import roll from 'pino-roll';

/** Fields that must never reach a log line, wherever they appear. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
  '*.password',
  '*.new_password',
  '*.current_password',
  '*.token',
  '*.key',
  '*.api_key',
  '*.secret',
  '*.auth_token',
];

export const LOG_FILE_BASENAME = 'polar';

export interface LoggerOptions {
  level: string;
  /** When set, JSON lines also go to rotating files in this folder. */
  logDir?: string | undefined;
  /** Defaults to stdout; tests pass a sink. */
  stdout?: NodeJS.WritableStream;
}

export async function createLogger(opts: LoggerOptions): Promise<Logger> {
  const streams: StreamEntry[] = [{ level: 'trace', stream: opts.stdout ?? process.stdout }];
  if (opts.logDir) {
    mkdirSync(opts.logDir, { recursive: true });
    const file = await roll({
      file: join(opts.logDir, LOG_FILE_BASENAME),
      extension: '.log',
      frequency: 'daily',
      dateFormat: 'yyyy-MM-dd',
      size: '50m',
      mkdir: true,
      limit: { count: 30 },
    });
    streams.push({ level: 'trace', stream: file });
  }
  return pino(
    {
      level: opts.level,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      base: { pid: process.pid },
    },
    pino.multistream(streams),
  );
}
