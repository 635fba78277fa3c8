import { describe, expect, it } from 'vitest';
import { scriptedCli } from '../../../test/helpers/scripted-api.js';
import { ApiClient } from '../client.js';
import { SseParser, statsLine, streamChat } from './chat-stream.js';

describe('SseParser', () => {
  it('joins events split anywhere, skips comments and other fields, reads CRLF and multi-line data', () => {
    const p = new SseParser();
    const text =
      ': keep-alive\r\n\r\ndata: {"a":1}\r\n\r\nevent: x\nid: 3\ndata:{"b":\ndata: 2}\n\ndata: [DONE]\n\n';
    const events: string[] = [];
    for (let i = 0; i < text.length; i += 3) events.push(...p.push(text.slice(i, i + 3)));
    expect(events).toEqual(['{"a":1}', '{"b":\n2}', '[DONE]']);
  });

  it('hands over a last event that lacks its blank line at the end', () => {
    const p = new SseParser();
    expect(p.push('data: {"x":1}\n')).toEqual([]);
    expect(p.end()).toEqual(['{"x":1}']);
  });
});

describe('streamChat timings', () => {
  it('measures time to first token and decode speed from the usage count', async () => {
    const body = [
      'data: {"id":"c","choices":[{"delta":{"role":"assistant"},"finish_reason":null}]}',
      'data: {"id":"c","choices":[{"delta":{"content":"a"},"finish_reason":null}]}',
      'data: {"id":"c","choices":[{"delta":{"content":"bcd"},"finish_reason":null}]}',
      'data: {"id":"c","choices":[{"delta":{},"finish_reason":"length"}]}',
      'data: {"id":"c","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":5,"total_tokens":8}}',
      'data: [DONE]',
      '',
    ].join('\n\n');
    const api = scriptedCli(() => ({ bytes: body, headers: { 'content-type': 'text/event-stream' } }));
    const client = new ApiClient({ baseUrl: 'http://node.test:8000', fetch: api.ctx.fetch! });
    // Clock: request at 1000, first text at 1250, last text at 1650, end at 1700.
    const ticks = [1000, 1250, 1650, 1700];
    const pieces: string[] = [];
    const r = await streamChat(
      client,
      { model: 'm', messages: [] },
      { signal: new AbortController().signal, onText: (t) => pieces.push(t), now: () => ticks.shift()! },
    );
    expect(pieces).toEqual(['a', 'bcd']);
    expect(r).toMatchObject({ id: 'c', text: 'abcd', finishReason: 'length', interrupted: false });
    expect(r.usage).toEqual({ prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 });
    // 4 tokens after the first in 400 ms.
    expect(r.timings).toEqual({ ttftMs: 250, totalMs: 700, tokensPerSecond: 10, tokens: 5 });
    expect(statsLine(r.timings)).toBe('5 tokens · 10.0 tokens/s · first token 250 ms · total 0.70 s');
  });
});
