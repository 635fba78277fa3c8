import { Worker } from 'node:worker_threads';

/**
 * Hashing on a worker thread, so a download's main thread only moves bytes: sha256 of a large file
 * costs about as much CPU as receiving it. One worker serves the whole process (hashes of several
 * downloads interleave there); it starts on first use and never keeps the process alive while idle.
 *
 * Bytes are passed as views on a SharedArrayBuffer, never copied or transferred: the caller keeps
 * the region unchanged until the `update` that names it resolves. Messages are handled in the order
 * they were posted, so the updates of one hash apply in order.
 */

// Plain CommonJS evaluated in the worker: it needs no loader, whether Polar runs from TypeScript
// sources or from its build.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const hashes = new Map();
parentPort.on('message', (m) => {
  try {
    let result;
    if (m.op === 'open') {
      const hs = m.algorithms.map((a) => createHash(a));
      if (m.prefix) hs[0].update(m.prefix);
      hashes.set(m.id, hs);
    } else if (m.op === 'update') {
      const hs = hashes.get(m.id);
      if (!hs) throw new Error('no open hash ' + m.id);
      const view = new Uint8Array(m.buffer, m.offset, m.length);
      for (const h of hs) h.update(view);
    } else if (m.op === 'digest') {
      const hs = hashes.get(m.id);
      if (!hs) throw new Error('no open hash ' + m.id);
      hashes.delete(m.id);
      result = hs.map((h) => h.digest('hex'));
    } else if (m.op === 'drop') {
      hashes.delete(m.id);
    }
    parentPort.postMessage({ seq: m.seq, result });
  } catch (err) {
    parentPort.postMessage({ seq: m.seq, error: String(err && err.message || err) });
  }
});
`;

type Request =
  | { op: 'open'; id: number; algorithms: string[]; prefix?: string }
  | { op: 'update'; id: number; buffer: SharedArrayBuffer; offset: number; length: number }
  | { op: 'digest'; id: number }
  | { op: 'drop'; id: number };

interface Pending {
  resolve(result: unknown): void;
  reject(err: Error): void;
}

class HashThread {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private seq = 0;

  call(request: Request): Promise<unknown> {
    const worker = this.worker ?? this.start();
    const seq = this.seq++;
    if (this.pending.size === 0) worker.ref();
    return new Promise((resolve, reject) => {
      this.pending.set(seq, { resolve, reject });
      worker.postMessage({ ...request, seq });
    });
  }

  private start(): Worker {
    const worker = new Worker(WORKER_SOURCE, { eval: true, name: 'polar-hash' });
    worker.on('message', (m: { seq: number; result?: unknown; error?: string }) => {
      const p = this.pending.get(m.seq);
      if (!p) return;
      this.pending.delete(m.seq);
      if (this.pending.size === 0) worker.unref();
      if (m.error === undefined) p.resolve(m.result);
      else p.reject(new Error(`hash worker: ${m.error}`));
    });
    // A worker that died takes its hashes with it: every caller fails, and the next call starts afresh.
    const fail = (err: Error) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      const pending = [...this.pending.values()];
      this.pending.clear();
      for (const p of pending) p.reject(err);
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`hash worker exited with ${code}`)));
    worker.unref();
    this.worker = worker;
    return worker;
  }
}

const thread = new HashThread();
let nextId = 0;

/**
 * One or more hashes over the same bytes, computed on the worker. `prefix` goes into the first
 * hash only (git's blob header). Every method resolves once the worker has done it.
 */
export class RemoteHash {
  private readonly id = nextId++;
  private readonly opened: Promise<unknown>;

  constructor(algorithms: string[], prefix?: string) {
    this.opened = thread.call({ op: 'open', id: this.id, algorithms, ...(prefix ? { prefix } : {}) });
    // A failure to open shows up on the first update or digest; unobserved it must not crash.
    this.opened.catch(() => undefined);
  }

  /** Resolves when `view`'s bytes are hashed; until then they must not change. */
  async update(view: Uint8Array): Promise<void> {
    if (!(view.buffer instanceof SharedArrayBuffer)) throw new TypeError('RemoteHash takes shared memory');
    await Promise.all([
      this.opened,
      thread.call({
        op: 'update',
        id: this.id,
        buffer: view.buffer,
        offset: view.byteOffset,
        length: view.byteLength,
      }),
    ]);
  }

  /** Hex digests, one per algorithm; the hash is gone afterwards. */
  async digest(): Promise<string[]> {
    const [, result] = await Promise.all([this.opened, thread.call({ op: 'digest', id: this.id })]);
    return result as string[];
  }

  /** Forgets the hash without computing it. */
  drop(): void {
    thread.call({ op: 'drop', id: this.id }).catch(() => undefined);
  }
}
