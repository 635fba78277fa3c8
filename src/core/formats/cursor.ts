import { invalidModelFile, type ModelFormat } from './errors.js';
import type { ByteSource } from './source.js';

const WINDOW = 1 << 20;

/**
 * Sequential little-endian reads over a ByteSource through a 1 MiB window, so a header of any
 * length is walked with bounded memory, and every read past the end or past `limit` becomes an
 * `invalid_model_file` error instead of a RangeError.
 */
export class Cursor {
  pos = 0;
  private window: Uint8Array = new Uint8Array(0);
  private windowStart = 0;
  private view: DataView = new DataView(this.window.buffer);

  constructor(
    private readonly source: ByteSource,
    private readonly format: ModelFormat,
    /** Bytes beyond this offset are never read (the bound on a header's size). */
    private readonly limit = source.size,
  ) {}

  fail(detail: string): never {
    throw invalidModelFile(this.format, detail);
  }

  get remaining(): number {
    return Math.min(this.limit, this.source.size) - this.pos;
  }

  /** Makes `n` bytes at the current position readable from the window; n ≤ WINDOW. */
  private async need(n: number, what: string): Promise<number> {
    if (n > this.remaining) this.fail(`${what} at byte ${this.pos} runs past the end of the file`);
    const at = this.pos - this.windowStart;
    if (at >= 0 && at + n <= this.window.length) return at;
    const chunk = await this.source.read(this.pos, Math.min(Math.max(n, WINDOW), this.remaining));
    if (chunk.length < n) this.fail(`${what} at byte ${this.pos} runs past the end of the file`);
    this.window = chunk;
    this.windowStart = this.pos;
    this.view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    return 0;
  }

  async u8(what = 'value'): Promise<number> {
    const at = await this.need(1, what);
    this.pos += 1;
    return this.view.getUint8(at);
  }

  async u32(what = 'value'): Promise<number> {
    const at = await this.need(4, what);
    this.pos += 4;
    return this.view.getUint32(at, true);
  }

  async u64(what = 'value'): Promise<bigint> {
    const at = await this.need(8, what);
    this.pos += 8;
    return this.view.getBigUint64(at, true);
  }

  /** A u64 that must fit in a safe integer and stay ≤ max. */
  async count(what: string, max: number): Promise<number> {
    const v = await this.u64(what);
    if (v > BigInt(max)) this.fail(`${what} ${v} exceeds the limit of ${max}`);
    return Number(v);
  }

  async bytes(n: number, what: string): Promise<Uint8Array> {
    if (n > WINDOW) this.fail(`${what} of ${n} bytes is too long to read`);
    const at = await this.need(n, what);
    this.pos += n;
    return this.window.subarray(at, at + n);
  }

  skip(n: number, what: string): void {
    if (n > this.remaining) this.fail(`${what} at byte ${this.pos} runs past the end of the file`);
    this.pos += n;
  }

  async scalar<T>(size: number, read: (view: DataView, at: number) => T, what: string): Promise<T> {
    const at = await this.need(size, what);
    this.pos += size;
    return read(this.view, at);
  }
}
