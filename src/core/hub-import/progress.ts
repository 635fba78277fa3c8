export interface DownloadProgress {
  path: string;
  bytesDone: number;
  bytesTotal: number;
  /** Recent speed over the last few seconds, so a stall or a burst shows up quickly. */
  bytesPerSecond: number;
  /** Seconds left at the recent speed; null until a speed is known. */
  etaSeconds: number | null;
}

export type ProgressListener = (progress: DownloadProgress) => void;

/** Speed is measured over this window; shorter flickers, longer hides stalls. */
const WINDOW_MS = 3000;
/** Listeners hear at most this often (plus the final report), so a fast link does not flood events. */
const REPORT_EVERY_MS = 250;

/** Turns byte counts into throttled progress reports with speed and ETA. `now` is in milliseconds. */
export class ProgressTracker {
  private readonly samples: Array<{ at: number; bytes: number }> = [];
  private lastReport = Number.NEGATIVE_INFINITY;
  private done: number;

  constructor(
    private readonly path: string,
    private readonly total: number,
    startBytes: number,
    private readonly listener: ProgressListener | undefined,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.done = startBytes;
    this.samples.push({ at: now(), bytes: startBytes });
  }

  /** Sets the absolute byte count (it may go down when a download restarts from zero). */
  update(bytesDone: number, final = false): void {
    const at = this.now();
    if (bytesDone < this.done) this.samples.length = 0;
    this.done = bytesDone;
    this.samples.push({ at, bytes: bytesDone });
    while (this.samples.length > 2 && at - (this.samples[0]?.at ?? at) > WINDOW_MS) this.samples.shift();
    if (!this.listener || (!final && at - this.lastReport < REPORT_EVERY_MS)) return;
    this.lastReport = at;
    this.listener(this.snapshot());
  }

  snapshot(): DownloadProgress {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    const seconds = first && last ? (last.at - first.at) / 1000 : 0;
    const bytesPerSecond = first && last && seconds > 0 ? (last.bytes - first.bytes) / seconds : 0;
    const left = Math.max(0, this.total - this.done);
    const etaSeconds = left === 0 ? 0 : bytesPerSecond > 0 ? left / bytesPerSecond : null;
    return { path: this.path, bytesDone: this.done, bytesTotal: this.total, bytesPerSecond, etaSeconds };
  }
}

export interface Throughput {
  bytes: number;
  seconds: number;
  bytesPerSecond: number;
}

/** Times `work` (which returns the bytes it moved) with a monotonic clock; for benchmarks. */
export async function measureThroughput(work: () => Promise<number>): Promise<Throughput> {
  const start = process.hrtime.bigint();
  const bytes = await work();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { bytes, seconds, bytesPerSecond: seconds > 0 ? bytes / seconds : 0 };
}
