/**
 * Turns byte offsets of a stream into 1-based lines and columns as the bytes go by. A parser may
 * report a token some chunks after its first byte was fed, so chunks are kept until a query moves
 * past them; queries must not go backwards. Asking at every token keeps the kept bytes to about one
 * token. Columns count characters (UTF-8 continuation bytes do not start one).
 */
export class LineCounter {
  private readonly chunks: Uint8Array[] = [];
  /** Absolute offset of chunks[0][0]. */
  private base = 0;
  private fed = 0;
  private cursor = 0;
  private line = 1;
  private column = 1;

  feed(chunk: Uint8Array): void {
    this.chunks.push(chunk);
    this.fed += chunk.length;
  }

  /** Line and column of the byte at `offset` (clamped to the bytes fed so far). */
  at(offset: number): { line: number; column: number } {
    const to = Math.min(offset, this.fed);
    while (this.cursor < to) {
      const c = this.chunks[0]!;
      const end = Math.min(to - this.base, c.length);
      for (let i = this.cursor - this.base; i < end; i++) {
        const b = c[i]!;
        if (b === 0x0a) {
          this.line++;
          this.column = 1;
        } else if ((b & 0xc0) !== 0x80) this.column++;
      }
      this.cursor = this.base + end;
      if (end === c.length) {
        this.chunks.shift();
        this.base += c.length;
      }
    }
    return { line: this.line, column: this.column };
  }
}
