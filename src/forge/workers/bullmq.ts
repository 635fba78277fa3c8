import { DelayedError, type Job, Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { JobDispatch } from './dispatch.js';

/** The BullMQ queue of training wake-ups, under the deployment's Redis prefix. */
export const TRAINING_QUEUE = 'training';
/** How often a process checks whether it has an idle worker to take messages for (no I/O). */
const GATE_MS = 200;
/** A message that reached a process with no idle worker goes back for this long. */
const REDELIVER_MS = 1000;
/** After a wake, time for the woken workers' claims to land before the next message is taken. */
const SETTLE_MS = 100;

export interface BullmqDispatch extends JobDispatch {
  /**
   * How many of this process's workers are idle. Messages are taken only while some are: a process
   * whose workers are all busy leaves them in Redis for another process.
   */
  setCapacity(capacity: () => number): void;
  /** Resolves once the queue's connection answers. */
  ready(): Promise<void>;
  /** Resolves when every connection this dispatch opened is closed (after `close()`). */
  closed(): Promise<void>;
}

/**
 * Dispatch over BullMQ for several processes sharing one PostgreSQL and one Redis. A message only
 * says "some job may be claimable now": the database stays the source of truth and a woken worker
 * claims with the same lease and SKIP LOCKED as everywhere else, so a duplicate message costs one
 * empty claim and a lost one (Redis flushed, a process killed between taking and acting on it) is
 * made up by the workers' periodic claim attempts. What BullMQ adds over pub/sub is delivery to a
 * process that has an idle worker, and delayed wake-ups (a retry's backoff) that survive the
 * process that scheduled them.
 */
export function createBullmqDispatch(opts: {
  /** Duplicated: BullMQ needs connections of its own (blocking ones for the consumer). */
  redis: Redis;
  /** Key prefix of the deployment in Redis (`POLAR_REDIS_PREFIX`). */
  prefix: string;
  log: Logger;
  now?: () => Date;
}): BullmqDispatch {
  const now = opts.now ?? (() => new Date());
  const prefix = `${opts.prefix}:bull`;
  const queueConnection = opts.redis.duplicate();
  queueConnection.on('error', () => {});
  const queue = new Queue(TRAINING_QUEUE, { connection: queueConnection, prefix });
  queue.on('error', (err) => opts.log.warn({ err: err.message }, 'training queue error'));
  const listeners = new Set<() => void>();
  let capacity: () => number = () => 1;
  let worker: Worker | undefined;
  let workerConnection: Redis | undefined;
  let gate: NodeJS.Timeout | undefined;
  let closing: Promise<void> | undefined;

  const fire = () => {
    for (const l of listeners) l();
  };

  const onMessage = async (job: Job, token?: string) => {
    if (capacity() <= 0) {
      // Taken in the moment before the gate closed: back to the queue for a process that can act.
      await job.moveToDelayed(Date.now() + REDELIVER_MS, token);
      throw new DelayedError();
    }
    fire();
    await new Promise((r) => setTimeout(r, SETTLE_MS));
  };

  const consume = () => {
    if (worker || closing) return;
    const connection = opts.redis.duplicate({ maxRetriesPerRequest: null });
    connection.on('error', () => {});
    workerConnection = connection;
    const w = new Worker(TRAINING_QUEUE, onMessage, { connection, prefix, concurrency: 1 });
    w.on('error', (err) => opts.log.warn({ err: err.message }, 'training queue consumer error'));
    worker = w;
    gate = setInterval(() => {
      const open = capacity() > 0;
      if (open && w.isPaused()) w.resume();
      else if (!open && !w.isPaused() && w.isRunning()) void w.pause(true).catch(() => undefined);
    }, GATE_MS);
    gate.unref();
  };

  return {
    announce(jobId, at) {
      const delay = at ? Math.max(0, at.getTime() - now().getTime()) : 0;
      // One message per job and due time: announcing the same thing twice adds nothing.
      const id = delay > 0 ? `job-${jobId}-at-${at?.getTime()}` : `job-${jobId}`;
      void queue
        .add('claimable', { job_id: jobId }, { jobId: id, delay, removeOnComplete: true, removeOnFail: true })
        .catch((err: Error) =>
          opts.log.warn({ err: err.message, jobId }, 'training job not announced (workers will poll for it)'),
        );
    },
    onReady(listener) {
      listeners.add(listener);
      consume();
      return () => listeners.delete(listener);
    },
    setCapacity(fn) {
      capacity = fn;
    },
    async ready() {
      await queue.waitUntilReady();
    },
    close() {
      closing ??= (async () => {
        if (gate) clearInterval(gate);
        listeners.clear();
        await worker?.close().catch(() => undefined);
        await queue.close().catch(() => undefined);
        workerConnection?.disconnect();
        queueConnection.disconnect();
      })();
    },
    closed: () => closing ?? Promise.resolve(),
  };
}
