import { RuntimeError } from '../types.js';

interface Waiter<T> {
  resolve: (item: T) => void;
  reject: (err: unknown) => void;
  signal: AbortSignal;
  onAbort: () => void;
}

/**
 * A fixed set of context sequences handed out one per request, first come first served. The serving
 * layer already limits requests to `parallel`, so waiting here is the exception (a request that
 * arrives while another is still releasing its sequence); a waiter leaves the line when its request
 * is aborted.
 */
export class Pool<T> {
  private readonly free: T[];
  private readonly waiters: Waiter<T>[] = [];
  private closed = false;

  constructor(items: T[]) {
    this.free = [...items];
  }

  acquire(signal: AbortSignal): Promise<T> {
    if (this.closed) return Promise.reject(unloaded());
    if (signal.aborted) return Promise.reject(signal.reason);
    const item = this.free.pop();
    if (item !== undefined) return Promise.resolve(item);
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter<T> = {
        resolve,
        reject,
        signal,
        onAbort: () => {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          reject(signal.reason);
        },
      };
      signal.addEventListener('abort', waiter.onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  release(item: T): void {
    if (this.closed) return;
    const waiter = this.waiters.shift();
    if (!waiter) {
      this.free.push(item);
      return;
    }
    waiter.signal.removeEventListener('abort', waiter.onAbort);
    waiter.resolve(item);
  }

  /** Refuses every waiting and later request; items still out are not returned. */
  close(): void {
    this.closed = true;
    this.free.length = 0;
    for (const waiter of this.waiters.splice(0)) {
      waiter.signal.removeEventListener('abort', waiter.onAbort);
      waiter.reject(unloaded());
    }
  }

  get available(): number {
    return this.free.length;
  }
}

function unloaded(): RuntimeError {
  return new RuntimeError('model_unloaded', 'the model was unloaded', 503);
}
