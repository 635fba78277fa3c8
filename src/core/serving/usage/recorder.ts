import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import type { Db } from '../../../platform/db/client.js';
import { INFERENCE_STATUSES, type InferenceStatus } from '../tables.js';
import { createInferenceMetrics } from './metrics.js';
import { createUsageRepository, type NewInferenceRecord, type UsageRepository } from './repository.js';

/** What the inference layer knows about one request once it has ended (or been refused). */
export interface InferenceRecord {
  /** When the request arrived; defaults to when it was recorded. */
  at?: Date | undefined;
  requestId: string;
  modelId: string;
  modelName: string;
  /** Null when the request was refused before a version was chosen. */
  version?: number | null | undefined;
  /** The public surface: api_chat, chat_completions, completions, embeddings, predict, ... */
  endpoint: string;
  userId?: string | null | undefined;
  keyId?: string | null | undefined;
  status: InferenceStatus;
  errorCode?: string | null | undefined;
  tokensIn?: number | undefined;
  tokensOut?: number | undefined;
  rows?: number | undefined;
  latencyMs: number;
  ttftMs?: number | null | undefined;
}

export interface UsageRecorder {
  /** Counts the request in the metrics at once and queues its row; never throws, never waits. */
  record(rec: InferenceRecord): void;
  /** Writes every queued row; resolves (never rejects) once done or once the database refused. */
  flush(): Promise<void>;
  /** Stops the timer and writes what is queued (with its one retry); later records are dropped. */
  close(): Promise<void>;
  /** Rows waiting to be written. */
  readonly buffered: number;
}

export interface UsageRecorderOptions {
  db: Db;
  /** The app's Prometheus registry (`services.metrics.registry`). */
  registry: Registry;
  log: Logger;
  /** How often queued rows are written; default 1000 ms. */
  flushMs?: number;
  /** Rows per insert, and the queue length that triggers a write before the timer; default 500. */
  maxBatch?: number;
  /**
   * Rows kept while the database is slow or down; past it the oldest are dropped and counted in
   * `polar_inference_records_dropped_total{reason="overflow"}`. Default 20 000 (~10 MB).
   */
  maxBuffered?: number;
  /** The repository rows go through; defaults to one over `db`. */
  repo?: UsageRepository;
}

// Strings come from the request path; bound them so one odd request cannot bloat a row.
const str = (s: string | null | undefined, max = 256) => (s == null ? null : String(s).slice(0, max));
const count = (n: number | undefined) =>
  typeof n === 'number' && Number.isFinite(n) && n > 0 ? Math.min(Math.round(n), 2_147_483_647) : 0;
const ms = (n: number | null | undefined) =>
  typeof n === 'number' && Number.isFinite(n) && n >= 0 ? n : null;

interface Pending {
  row: NewInferenceRecord;
  /** Failed inserts so far; a row is retried once, then dropped. */
  attempts: number;
}

/**
 * Records inference requests off the request path: metrics are updated in `record()`, rows are
 * buffered and written in batches by a timer (or as soon as a batch is full), one insert at a time.
 * A failed insert is logged and its rows retried once on the next flush, then dropped and counted;
 * usage accounting is never a reason to fail or slow an inference.
 */
export function createUsageRecorder(opts: UsageRecorderOptions): UsageRecorder {
  const flushMs = opts.flushMs ?? 1000;
  const maxBatch = Math.max(1, opts.maxBatch ?? 500);
  const maxBuffered = Math.max(maxBatch, opts.maxBuffered ?? 20_000);
  const repo = opts.repo ?? createUsageRepository(opts.db);
  const metrics = createInferenceMetrics(opts.registry);
  let buffer: Pending[] = [];
  let draining: Promise<void> | null = null;
  let closed = false;
  // Drops are logged once per flush with their count, not once per record.
  let droppedUnlogged = 0;

  new Gauge({
    name: 'polar_inference_records_buffered',
    help: 'Inference records waiting to be written to the database',
    registers: [opts.registry],
    collect() {
      this.set(buffer.length);
    },
  });

  const drop = (n: number, reason: 'overflow' | 'insert_failed' | 'closed') => {
    metrics.dropped.inc({ reason }, n);
    if (reason === 'overflow') droppedUnlogged += n;
    else if (reason === 'closed')
      opts.log.warn({ dropped: n, reason }, 'inference record after close dropped');
  };

  const drain = async () => {
    if (droppedUnlogged > 0) {
      opts.log.warn(
        { dropped: droppedUnlogged, reason: 'overflow', max_buffered: maxBuffered },
        'inference records dropped: the buffer was full',
      );
      droppedUnlogged = 0;
    }
    while (buffer.length > 0) {
      const batch = buffer.splice(0, maxBatch);
      try {
        await repo.insertMany(batch.map((p) => p.row));
      } catch (err) {
        const retry = batch.filter((p) => p.attempts === 0);
        const lost = batch.length - retry.length;
        if (lost > 0) {
          opts.log.error({ err, rows: lost }, 'inference records could not be saved twice; dropping them');
          drop(lost, 'insert_failed');
        }
        if (retry.length > 0) {
          opts.log.warn(
            { err, rows: retry.length },
            'inference records not saved; retrying on the next flush',
          );
          for (const p of retry) p.attempts++;
          buffer = [...retry, ...buffer];
          if (buffer.length > maxBuffered)
            drop(buffer.splice(0, buffer.length - maxBuffered).length, 'overflow');
        }
        return;
      }
    }
  };

  const flush = (): Promise<void> => {
    draining ??= drain()
      .catch((err: unknown) => opts.log.error({ err }, 'inference record flush failed'))
      .finally(() => {
        draining = null;
      });
    return draining;
  };

  const timer = setInterval(() => void flush(), flushMs);
  timer.unref();

  return {
    record(rec) {
      try {
        const status: InferenceStatus = INFERENCE_STATUSES.includes(rec.status) ? rec.status : 'error';
        const row: NewInferenceRecord = {
          at: rec.at instanceof Date && !Number.isNaN(rec.at.getTime()) ? rec.at : new Date(),
          requestId: str(rec.requestId, 128) ?? '',
          modelId: str(rec.modelId) ?? '',
          modelName: str(rec.modelName) ?? '',
          version: typeof rec.version === 'number' && Number.isInteger(rec.version) ? rec.version : null,
          endpoint: str(rec.endpoint, 64) ?? '',
          userId: str(rec.userId),
          keyId: str(rec.keyId),
          status,
          errorCode: str(rec.errorCode, 128),
          tokensIn: count(rec.tokensIn),
          tokensOut: count(rec.tokensOut),
          rows: count(rec.rows),
          latencyMs: ms(rec.latencyMs) ?? 0,
          ttftMs: ms(rec.ttftMs),
        };
        metrics.observe({
          modelName: row.modelName,
          endpoint: row.endpoint,
          status,
          tokensIn: row.tokensIn!,
          tokensOut: row.tokensOut!,
          latencyMs: row.latencyMs,
          ttftMs: row.ttftMs ?? null,
        });
        if (closed) return drop(1, 'closed');
        buffer.push({ row, attempts: 0 });
        if (buffer.length > maxBuffered)
          drop(buffer.splice(0, buffer.length - maxBuffered).length, 'overflow');
        if (buffer.length >= maxBatch && !draining) void flush();
      } catch (err) {
        opts.log.warn({ err }, 'inference record not recorded');
      }
    },
    flush,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      // Each pass writes a batch, or marks it failed once, or drops it after its retry: this ends,
      // and a batch that fails now gets its one retry here rather than on a timer that is gone.
      do await flush();
      while (buffer.length > 0);
    },
    get buffered() {
      return buffer.length;
    },
  };
}
