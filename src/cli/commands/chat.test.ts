import { describe, expect, it } from 'vitest';
import { problem, type ScriptedCall, scriptedCli, sse } from '../../../test/helpers/scripted-api.js';
import { PARAMETER_FIELDS } from '../../core/serving/parameters/schema.js';
import type { Terminal } from '../lines.js';
import { runCli } from '../program.js';
import { CHAT_PARAMETERS, checkParameter, parseParameterValue } from './chat-settings.js';

const chunk = (content: string | null, finish: string | null = null) => ({
  id: 'chatcmpl-1',
  object: 'chat.completion.chunk',
  created: 1_900_000_000,
  model: 'llama',
  choices: [
    { index: 0, delta: content === null ? { role: 'assistant' } : { content }, finish_reason: finish },
  ],
  usage: null,
});
const usage = (completion: number) => ({
  id: 'chatcmpl-1',
  object: 'chat.completion.chunk',
  created: 1_900_000_000,
  model: 'llama',
  choices: [],
  usage: { prompt_tokens: 7, completion_tokens: completion, total_tokens: 7 + completion },
});
/** A whole streamed reply as the node sends it: role, pieces, finish, usage, [DONE]. */
const reply = (...pieces: string[]) => [
  chunk(null),
  ...pieces.map((p) => chunk(p)),
  chunk(null, 'stop'),
  usage(pieces.length),
  '[DONE]',
];

const openAiError = (status: number, message: string, code: string) => ({
  status,
  body: { error: { message, type: 'invalid_request_error', param: null, code } },
});

/** A scripted CLI whose raw standard output is captured, plus a scripted terminal. */
function chatCli(handler: Parameters<typeof scriptedCli>[0], lines: string[] = [], interactive = true) {
  const api = scriptedCli(handler);
  const raw: string[] = [];
  let interrupt: (() => void) | null = null;
  const prompts: string[] = [];
  let closed = false;
  const term: Terminal = {
    interactive,
    read: async (prompt) => {
      prompts.push(prompt);
      return lines.shift() ?? null;
    },
    busy(handler) {
      interrupt = handler;
      return () => {
        interrupt = null;
      };
    },
    close: () => {
      closed = true;
    },
  };
  api.ctx.stdout = { isTTY: false, write: (s) => raw.push(s) };
  api.ctx.terminal = () => term;
  return {
    ...api,
    raw,
    prompts,
    interrupt: () => interrupt?.(),
    closed: () => closed,
    chats: () => api.calls.filter((c) => c.path === '/v1/chat/completions'),
  };
}

const bodyOf = (c: ScriptedCall) => c.body as Record<string, unknown> & { messages: unknown[] };

describe('polar chat MODEL "prompt" (one-shot)', () => {
  it('streams the reply to standard output and sends the OpenAI request with the settings', async () => {
    const cli = chatCli(() => ({ stream: sse(reply('Hel', 'lo', '!')) }));
    const args = ['chat', 'llama@production', 'Say', 'hello', '--system', 'Be brief'];
    const set = ['--set', 'temperature=0', '--set', 'max_tokens=16', '--set', 'stop=["###","\\n\\n"]'];
    expect(await runCli([...args, ...set], cli.ctx)).toBe(0);
    expect(cli.calls).toHaveLength(1);
    expect(cli.calls[0]).toMatchObject({ method: 'POST', path: '/v1/chat/completions' });
    expect(cli.calls[0]!.headers.get('accept')).toBe('text/event-stream');
    expect(cli.calls[0]!.body).toEqual({
      model: 'llama@production',
      messages: [
        { role: 'system', content: 'Be brief' },
        { role: 'user', content: 'Say hello' },
      ],
      temperature: 0,
      max_tokens: 16,
      stop: ['###', '\n\n'],
      stream: true,
      stream_options: { include_usage: true },
    });
    // Piece by piece, then one newline; no timings unless asked in the one-shot form.
    expect(cli.raw).toEqual(['Hel', 'lo', '!', '\n']);
    expect(cli.out).toEqual([]);
    expect(cli.err).toEqual([]);
    expect(cli.closed()).toBe(false);
  });

  it('--stats prints tokens, tokens/s and time to first token on standard error', async () => {
    const cli = chatCli(() => ({
      stream: sse(reply('a', 'b', 'c'), { before: () => new Promise((r) => setTimeout(r, 5)) }),
    }));
    expect(await runCli(['chat', 'llama', 'hi', '--stats'], cli.ctx)).toBe(0);
    expect(cli.err).toHaveLength(1);
    expect(cli.err[0]).toMatch(/^3 tokens · \d+\.\d tokens\/s · first token \d+ ms · total \d\.\d\d s$/);
  });

  it('--json prints the assembled chat.completion with usage and timings, and no streamed text', async () => {
    const cli = chatCli(() => ({ stream: sse(reply('4', '2')) }));
    expect(await runCli(['chat', 'llama', 'answer?', '--json'], cli.ctx)).toBe(0);
    expect(cli.raw).toEqual([]);
    const answer = JSON.parse(cli.out.join('\n'));
    expect(answer).toMatchObject({
      id: 'chatcmpl-1',
      object: 'chat.completion',
      created: 1_900_000_000,
      model: 'llama',
      choices: [{ index: 0, message: { role: 'assistant', content: '42' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 7, completion_tokens: 2, total_tokens: 9 },
    });
    expect(answer.timings.time_to_first_token_ms).toBeGreaterThanOrEqual(0);
    expect(answer.timings.tokens_per_second === null || answer.timings.tokens_per_second > 0).toBe(true);
  });

  it('reads the prompt from piped input when none is given', async () => {
    const cli = chatCli(() => ({ stream: sse(reply('ok')) }), ['line one', 'line two'], false);
    expect(await runCli(['chat', 'llama'], cli.ctx)).toBe(0);
    expect(bodyOf(cli.calls[0]!).messages).toEqual([{ role: 'user', content: 'line one\nline two' }]);
    expect(cli.prompts).toEqual(['', '', '']);
    expect(cli.closed()).toBe(true);
    expect(cli.raw.join('')).toBe('ok\n');

    const empty = chatCli(() => ({ stream: sse(reply('ok')) }), [], false);
    expect(await runCli(['chat', 'llama'], empty.ctx)).toBe(2);
    expect(empty.err.join('\n')).toMatch(/No prompt/);
    expect(empty.calls).toHaveLength(0);
  });

  it('checks settings before sending anything', async () => {
    const cli = chatCli(() => ({ stream: sse(reply('x')) }));
    for (const set of ['temperature=3', 'top_k=0.5', 'bogus=1', 'seed=-1', 'stop=[]', 'max_tokens']) {
      expect(await runCli(['chat', 'llama', 'hi', '--set', set], cli.ctx), set).toBe(2);
    }
    expect(cli.calls).toHaveLength(0);
    expect(cli.err[0]).toBe('Error: temperature must be a number from 0 to 2 (got 3)');
    expect(cli.err[2]).toMatch(/Unknown parameter 'bogus'\. Known: temperature, top_p, top_k, max_tokens/);
  });

  it.each([
    [404, 'model_not_found', 5],
    [400, 'invalid_value', 2],
    [429, 'rate_limited', 8],
    [503, 'overloaded', 1],
  ])('an OpenAI error %i (%s) exits %i with its message', async (status, code, exit) => {
    const cli = chatCli(() => openAiError(status, `Refused: ${code}`, code));
    expect(await runCli(['chat', 'llama', 'hi'], cli.ctx)).toBe(exit);
    expect(cli.err.join('\n')).toContain(`Refused: ${code} (${code}, HTTP ${status})`);
  });

  it('a problem+json answer (auth) is shown as for any command', async () => {
    const cli = chatCli(() => problem(401, 'unauthorized', 'Sign in first'));
    expect(await runCli(['chat', 'llama', 'hi'], cli.ctx)).toBe(3);
    expect(cli.err.join('\n')).toMatch(/Sign in first \(unauthorized, HTTP 401\)/);
  });

  it('an error event in the middle of the stream fails the command with its message', async () => {
    const events = [chunk('par'), { error: { message: 'the model host crashed', code: 'runtime_crashed' } }];
    const cli = chatCli(() => ({ stream: sse(events) }));
    expect(await runCli(['chat', 'llama', 'hi'], cli.ctx)).toBe(1);
    expect(cli.raw).toEqual(['par']);
    expect(cli.err.join('\n')).toContain('the model host crashed (runtime_crashed, HTTP 500)');
  });

  it('Ctrl-C stops the reply, keeps what arrived and exits 130', async () => {
    // The one-shot form takes Ctrl-C from the process (no line editor is open).
    const handlers = new Set<() => void>();
    const cli = chatCli(() => ({
      stream: sse(reply('one ', 'two ', 'three'), {
        before: (i) => {
          if (i === 3) for (const h of handlers) h();
        },
      }),
    }));
    cli.ctx.onInterrupt = (h) => {
      handlers.add(h);
      return () => handlers.delete(h);
    };
    expect(await runCli(['chat', 'llama', 'count'], cli.ctx)).toBe(130);
    expect(cli.raw.join('')).toBe('one two \n');
    expect(cli.err).toEqual(['(stopped)']);
    expect(handlers.size).toBe(0);
  });
});

describe('polar chat MODEL (conversation)', () => {
  it('keeps the history, applies /set, /unset and the system prompt, and /clear forgets', async () => {
    const cli = chatCli(
      () => ({ stream: sse(reply('fine')) }),
      [
        'hello',
        '/set temperature 0.5',
        '/set stop "###" "END"',
        '/set system You are terse.',
        'and now?',
        '/unset temperature',
        '/clear',
        'again',
        '/bye',
        'never read',
      ],
    );
    expect(await runCli(['chat', 'llama', '--set', 'seed=7'], cli.ctx)).toBe(0);
    const bodies = cli.chats().map(bodyOf);
    expect(bodies).toHaveLength(3);
    expect(bodies[0]).toMatchObject({ seed: 7, messages: [{ role: 'user', content: 'hello' }] });
    expect(bodies[1]).toMatchObject({
      seed: 7,
      temperature: 0.5,
      stop: ['###', 'END'],
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'hello' },
        { role: 'assistant', content: 'fine' },
        { role: 'user', content: 'and now?' },
      ],
    });
    expect(bodies[2]).not.toHaveProperty('temperature');
    expect(bodies[2]!.messages).toEqual([
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'again' },
    ]);
    expect(cli.prompts.filter((p) => p === '>>> ')).toHaveLength(9);
    expect(cli.closed()).toBe(true);
    // Timings follow every reply by default in a conversation.
    expect(cli.err.filter((l) => / tokens\/s|first token/.test(l))).toHaveLength(3);
  });

  it('reports a bad setting or a refused request and goes on', async () => {
    let n = 0;
    const cli = chatCli(
      () =>
        ++n === 1
          ? openAiError(400, 'top_k is not supported by this model', 'unsupported_parameter')
          : { stream: sse(reply('ok')) },
      ['/set temperature hot', '/set top_k 5', 'first', 'second', '/frobnicate', '/set stats off', 'third'],
    );
    expect(await runCli(['chat', 'llama'], cli.ctx)).toBe(0);
    expect(cli.err).toContain('Error: temperature must be a number from 0 to 2 (got "hot")');
    expect(cli.err).toContain(
      'Error: top_k is not supported by this model (unsupported_parameter, HTTP 400)',
    );
    expect(cli.err).toContain("Error: Unknown command '/frobnicate'; /help lists them");
    const bodies = cli.chats().map(bodyOf);
    expect(bodies).toHaveLength(3);
    // The refused exchange left no trace in the history.
    expect(bodies[1]!.messages).toEqual([{ role: 'user', content: 'second' }]);
    expect(bodies[2]!.messages).toHaveLength(3);
    // Stats were switched off before the third reply: two replies, one with timings.
    expect(cli.err.filter((l) => /first token/.test(l))).toHaveLength(1);
  });

  it('Ctrl-C stops a reply without leaving; the part shown stays in the history', async () => {
    let n = 0;
    const cli = chatCli(
      () =>
        ++n === 1
          ? {
              stream: sse(reply('one ', 'two ', 'three'), {
                before: (i) => (i === 3 ? cli.interrupt() : undefined),
              }),
            }
          : { stream: sse(reply('ok')) },
      ['count', 'go on'],
    );
    expect(await runCli(['chat', 'llama', '--no-stats'], cli.ctx)).toBe(0);
    expect(cli.raw.join('')).toBe('one two \nok\n');
    expect(cli.err).toContain('(stopped)');
    expect(bodyOf(cli.chats()[1]!).messages).toEqual([
      { role: 'user', content: 'count' },
      { role: 'assistant', content: 'one two ' },
      { role: 'user', content: 'go on' },
    ]);
  });

  it('Ctrl-C before the first byte stops the request too', async () => {
    let n = 0;
    const cli = chatCli(async () => {
      if (++n > 1) return { stream: sse(reply('ok')) };
      cli.interrupt();
      await new Promise((r) => setTimeout(r, 10));
      return { stream: sse(reply('late')) };
    }, ['first', 'second']);
    expect(await runCli(['chat', 'llama', '--no-stats'], cli.ctx)).toBe(0);
    expect(cli.raw.join('')).toBe('ok\n');
    expect(cli.chats()).toHaveLength(2);
    expect(bodyOf(cli.chats()[1]!).messages).toEqual([{ role: 'user', content: 'second' }]);
  });

  it('/show lists the settings and the model defaults; /help the commands; """ spans lines', async () => {
    const cli = chatCli(
      (c) =>
        c.path === '/api/v1/models/llama/parameters'
          ? { body: { model_id: 'm1', parameters: { temperature: 1, top_k: 50 }, last_updated: null } }
          : { stream: sse(reply('ok')) },
      ['/set top_p 0.8', '"""first line', 'second line"""', '/show', '/help'],
    );
    expect(await runCli(['chat', 'llama:2', '--system', 'Be kind'], cli.ctx)).toBe(0);
    expect(bodyOf(cli.chats()[0]!).messages.at(-1)).toEqual({
      role: 'user',
      content: 'first line\nsecond line',
    });
    expect(cli.prompts).toEqual(['>>> ', '>>> ', '... ', '>>> ', '>>> ', '>>> ']);
    const show = cli.out.find((l) => l.startsWith('model:'))!;
    expect(show).toMatch(/model:\s+llama:2/);
    expect(show).toMatch(/system:\s+Be kind/);
    expect(show).toMatch(/settings:\s+top_p=0\.8/);
    expect(show).toMatch(/model defaults:\s+temperature=1 top_k=50/);
    expect(show).toMatch(/history:\s+1 exchange$/m);
    expect(show).toMatch(/stats:\s+on/);
    expect(cli.out.at(-1)).toMatch(/\/set <parameter> <value>[\s\S]*\/bye/);
  });
});

describe('chat settings', () => {
  it('reads values as JSON or as shell words', () => {
    expect(parseParameterValue('temperature', ' 0.7 ')).toBe(0.7);
    expect(parseParameterValue('stop', '"\\n"')).toEqual(['\n']);
    expect(parseParameterValue('stop', "'###' END")).toEqual(['###', 'END']);
    expect(parseParameterValue('stop', '["a","b"]')).toEqual(['a', 'b']);
    expect(() => parseParameterValue('seed', '  ')).toThrow(/Give a value/);
  });

  it("accepts exactly the node's ranges for the parameters both know", () => {
    const pairs = [
      ['temperature', 'temperature'],
      ['top_p', 'top_p'],
      ['top_k', 'top_k'],
      ['repetition_penalty', 'repetition_penalty'],
      ['max_tokens', 'max_length'],
    ] as const;
    for (const [cli, node] of pairs) {
      for (const v of [-1, -0.01, 0, 0.5, 1, 1.5, 2, 2.01, 50, 100, 101, 2048, 2049]) {
        const here = CHAT_PARAMETERS[cli]!.check(v) === null;
        expect(here, `${cli}=${v}`).toBe(PARAMETER_FIELDS[node].safeParse(v).success);
      }
    }
    expect(() => checkParameter('stop', ['a', 'b', 'c', 'd', 'e'])).toThrow(/1 to 4/);
  });
});
