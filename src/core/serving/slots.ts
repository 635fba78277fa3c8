import { TooManyRequestsError, UnavailableError } from '../../platform/errors.js';

/**
 * Per-model concurrency: `parallel` requests run at once, up to `queueSize` more wait in arrival
 * order. Past that a request is refused at once (429), and a waiter that waits longer than the
 * queue timeout gives up (503): memory stays bounded whatever the load.
 */
export interface Slots {
  /** Resolves with a release function once a slot is held. */
  acquire(signal: AbortSignal, timeoutMs: number): Promise<() => void>;
  readonly active: number;
  readonly queued: number;
  /** Refuses every waiter (the model is going away). */
  rejectWaiting(err: Error): void;
}

interface Waiter {
  grant: () => void;
  fail: (err: Error) => void;
}

// The caller gave up (client gone, time limit); whoever aborted decides what the client sees.
const abandoned = () =>
  new UnavailableError('The request stopped while waiting for the model', 1, 'request_abandoned');

export function createSlots(parallel: number, queueSize: number): Slots {
  let active = 0;
  const waiting: Waiter[] = [];

  const release = () => {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = waiting.shift();
      if (next) next.grant();
      else active--;
    };
  };

  return {
    get active() {
      return active;
    },
    get queued() {
      return waiting.length;
    },
    acquire(signal, timeoutMs) {
      if (signal.aborted) return Promise.reject(abandoned());
      if (active < parallel) {
        active++;
        return Promise.resolve(release());
      }
      if (waiting.length >= queueSize) {
        return Promise.reject(
          new TooManyRequestsError(
            `The model is busy: ${active} requests running and ${waiting.length} waiting`,
            1,
            'model_busy',
          ),
        );
      }
      return new Promise((resolve, reject) => {
        const cleanup = () => {
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          const i = waiting.indexOf(waiter);
          if (i >= 0) waiting.splice(i, 1);
        };
        const waiter: Waiter = {
          // The slot passes straight from the releasing request to this one; `active` is unchanged.
          grant: () => {
            cleanup();
            resolve(release());
          },
          fail: (err) => {
            cleanup();
            reject(err);
          },
        };
        const onAbort = () => waiter.fail(abandoned());
        const timer = setTimeout(
          () =>
            waiter.fail(
              new UnavailableError(
                `The model stayed busy for ${Math.round(timeoutMs / 1000)} s; try again later`,
                Math.max(1, Math.round(timeoutMs / 2000)),
                'model_queue_timeout',
              ),
            ),
          timeoutMs,
        );
        signal.addEventListener('abort', onAbort, { once: true });
        waiting.push(waiter);
      });
    },
    rejectWaiting(err) {
      for (const w of waiting.splice(0)) w.fail(err);
    },
  };
}
