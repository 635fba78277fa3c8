import { describe, expect, it } from 'vitest';
import { TextChannel } from './text-channel.js';

describe('text channel', () => {
  it('delivers pieces in order and ends', async () => {
    const channel = new TextChannel();
    const read = (async () => {
      const got: string[] = [];
      for await (const t of channel) got.push(t);
      return got;
    })();
    channel.push('a');
    await new Promise((r) => setTimeout(r, 0));
    channel.push('b');
    await new Promise((r) => setTimeout(r, 0));
    channel.end();
    expect(await read).toEqual(['a', 'b']);
  });

  it('joins pieces that arrive while the reader is away, and ignores empty and late ones', async () => {
    const channel = new TextChannel();
    channel.push('he');
    channel.push('');
    channel.push('llo');
    channel.end();
    channel.push('late');
    const got: string[] = [];
    for await (const t of channel) got.push(t);
    expect(got).toEqual(['hello']);
  });
});
