/**
 * Hands text pieces from a runtime's callbacks (node-llama-cpp, transformers.js streamers) to one
 * async reader, in order. Pieces that pile up while the reader is busy come out joined, so a slow
 * reader costs one event, not one per token.
 */
export class TextChannel implements AsyncIterable<string> {
  private pending: string[] = [];
  private ended = false;
  private wake: (() => void) | undefined;

  push(text: string): void {
    if (this.ended || text.length === 0) return;
    this.pending.push(text);
    this.notify();
  }

  end(): void {
    this.ended = true;
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<string> {
    for (;;) {
      if (this.pending.length > 0) {
        const text = this.pending.join('');
        this.pending = [];
        yield text;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }
}
