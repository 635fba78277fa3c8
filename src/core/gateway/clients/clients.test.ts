import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type FakeProvider,
  startFakeOllama,
  startFakeOpenAI,
} from '../../../../test/fixtures/fake-provider/index.js';
import { loadConfig } from '../../../config.js';
import { createEgressPolicy, type Resolver } from '../egress.js';
import { createTransport, type Transport } from '../transport.js';
import { azureClient } from './azure.js';
import { UpstreamError } from './errors.js';
import { ollamaClient } from './ollama.js';
import { openAIClient } from './openai.js';
import type { UpstreamChatEvent } from './types.js';

const KEY = 'sk-test-0123456789abcdef';
const limits = { timeoutMs: 2000, idleTimeoutMs: 1000, maxResponseBytes: 1024 * 1024 };
const loopback = loadConfig({ POLAR_EGRESS_ALLOW: '127.0.0.0/8' }).egressAllow;

let openai: FakeProvider;
let ollama: FakeProvider;
let elsewhere: FakeProvider;
let transport: Transport;

beforeAll(async () => {
  [openai, ollama, elsewhere] = await Promise.all([
    startFakeOpenAI({ apiKey: KEY }),
    startFakeOllama(),
    startFakeOpenAI(),
  ]);
  transport = createTransport({ egress: createEgressPolicy({ allow: loopback }) });
});
afterAll(async () => {
  transport.close();
  await Promise.all([openai.close(), ollama.close(), elsewhere.close()]);
});
afterEach(() => {
  for (const f of [openai, ollama, elsewhere]) {
    f.setMode({ kind: 'ok' });
    f.requests.length = 0;
  }
});

const oa = (apiKey: string | undefined = KEY, t = transport) =>
  openAIClient({ ...limits, transport: t, baseUrl: openai.baseUrl, apiKey });
const ol = () => ollamaClient({ ...limits, transport, baseUrl: ollama.baseUrl });

async function collect(it: AsyncIterable<UpstreamChatEvent>): Promise<UpstreamChatEvent[]> {
  const out: UpstreamChatEvent[] = [];
  for await (const e of it) out.push(e);
  return out;
}

async function failure(p: Promise<unknown> | (() => Promise<unknown>)): Promise<UpstreamError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    expect(err).toBeInstanceOf(UpstreamError);
    return err as UpstreamError;
  }
  throw new Error('expected an UpstreamError');
}

const messages = [{ role: 'user' as const, content: 'hi' }];

describe('OpenAI-compatible client', () => {
  it('lists models with the bearer key', async () => {
    expect(await oa().listModels()).toEqual([
      { id: 'gpt-x', owned_by: 'fake' },
      { id: 'gpt-y', owned_by: 'fake' },
    ]);
    expect(openai.requests[0]).toMatchObject({ method: 'GET', path: '/v1/models' });
    expect(openai.requests[0]?.headers.authorization).toBe(`Bearer ${KEY}`);
  });

  it('chats whole and streamed', async () => {
    const r = await oa().chat({ model: 'gpt-x', messages, max_tokens: 7, temperature: 0.5 });
    expect(r).toEqual({
      text: 'Hello from the fake provider.',
      finish_reason: 'stop',
      usage: { prompt_tokens: 5, completion_tokens: 5 },
      model: 'gpt-x',
    });
    expect(openai.requests[0]?.body).toEqual({ model: 'gpt-x', messages, max_tokens: 7, temperature: 0.5 });
    const events = await collect(oa().chatStream({ model: 'gpt-x', messages }));
    expect(events.filter((e) => e.type === 'text').map((e) => (e as { text: string }).text)).toEqual([
      'Hello ',
      'from ',
      'the ',
      'fake ',
      'provider.',
    ]);
    expect(events.at(-1)).toEqual({
      type: 'done',
      finish_reason: 'stop',
      usage: { prompt_tokens: 5, completion_tokens: 5 },
    });
  });

  it('maps 401 without ever repeating the key the upstream echoed', async () => {
    const e = await failure(oa('sk-wrong-key-abcdef123456').listModels());
    expect(e.code).toBe('upstream_unauthorized');
    expect(e.upstreamStatus).toBe(401);
    expect(e.message).not.toContain('sk-wrong');
    expect(JSON.stringify(e)).not.toContain('sk-wrong');
  });

  it.each([
    [429, 'upstream_rate_limited', 429, true],
    [500, 'upstream_error', 502, true],
    [402, 'upstream_payment_required', 502, false],
    [401, 'upstream_unauthorized', 502, false],
  ])('maps status %i to %s', async (status, code, ours, retryable) => {
    openai.setMode({ kind: 'status', status, retryAfter: 7 });
    const e = await failure(oa().chat({ model: 'gpt-x', messages }));
    expect([e.code, e.status, e.retryable, e.upstreamStatus]).toEqual([code, ours, retryable, status]);
    if (status === 429) expect(e.retryAfter).toBe(7);
    if (status === 500) expect(e.message).toContain('fake failure 500');
  });

  it('times out a slow upstream, before the headers and between chunks', async () => {
    openai.setMode({ kind: 'slow', ms: 1500 });
    const t0 = Date.now();
    const e = await failure(oa().listModels({ timeoutMs: 200 }));
    expect(e.code).toBe('upstream_timeout');
    expect(e.status).toBe(504);
    expect(Date.now() - t0).toBeLessThan(1000);
    openai.setMode({ kind: 'slow', ms: 1500, where: 'chunks' });
    const idle = openAIClient({
      ...limits,
      idleTimeoutMs: 200,
      transport,
      baseUrl: openai.baseUrl,
      apiKey: KEY,
    });
    expect((await failure(collect(idle.chatStream({ model: 'gpt-x', messages })))).code).toBe(
      'upstream_timeout',
    );
  });

  it('reports a connection dropped in the middle, streamed or not', async () => {
    openai.setMode({ kind: 'drop-mid-stream' });
    expect((await failure(collect(oa().chatStream({ model: 'gpt-x', messages })))).code).toBe(
      'upstream_disconnected',
    );
    expect((await failure(oa().listModels())).code).toBe('upstream_disconnected');
  });

  it('turns bad JSON into upstream_bad_response, streamed or not', async () => {
    openai.setMode({ kind: 'bad-json' });
    expect((await failure(oa().listModels())).code).toBe('upstream_bad_response');
    expect((await failure(oa().chat({ model: 'gpt-x', messages }))).code).toBe('upstream_bad_response');
    expect((await failure(collect(oa().chatStream({ model: 'gpt-x', messages })))).code).toBe(
      'upstream_bad_response',
    );
  });

  it('refuses an answer of the wrong shape', async () => {
    const odd = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ data: [{ name: 'no id' }] }));
    });
    await new Promise<void>((r) => odd.listen(0, '127.0.0.1', r));
    try {
      const port = (odd.address() as AddressInfo).port;
      const c = openAIClient({ ...limits, transport, baseUrl: `http://127.0.0.1:${port}/v1` });
      const e = await failure(c.listModels());
      expect(e.code).toBe('upstream_bad_response');
      expect(e.message).toMatch(/unexpected shape \(data\.0\.id: /);
    } finally {
      odd.close();
    }
  });

  it('never follows a redirect, even to an allowed place', async () => {
    openai.setMode({ kind: 'redirect-to', url: `${elsewhere.baseUrl}/models` });
    const e = await failure(oa().listModels());
    expect(e.code).toBe('upstream_redirect');
    expect(e.message).toContain('302');
    expect(e.message).toContain(elsewhere.url);
    expect(elsewhere.requests).toHaveLength(0);
  });

  it('stops a stream when the caller aborts, and when the consumer leaves', async () => {
    openai.setMode({ kind: 'slow', ms: 300, where: 'chunks' });
    const ac = new AbortController();
    const seen: UpstreamChatEvent[] = [];
    const e = await failure(async () => {
      for await (const ev of oa().chatStream({ model: 'gpt-x', messages }, { signal: ac.signal })) {
        seen.push(ev);
        ac.abort();
      }
    });
    expect(e.code).toBe('upstream_cancelled');
    expect(seen.length).toBeLessThanOrEqual(1);
    openai.setMode({ kind: 'ok' });
    for await (const _ of oa().chatStream({ model: 'gpt-x', messages })) break;
  });

  it('reports an upstream that is not there', async () => {
    const gone = await startFakeOpenAI();
    const url = gone.baseUrl;
    await gone.close();
    const c = openAIClient({ ...limits, transport, baseUrl: url });
    const e = await failure(c.listModels());
    expect(e.code).toBe('upstream_unreachable');
    expect(e.message).toMatch(/refused/);
  });
});

describe('Azure OpenAI client', () => {
  const az = () =>
    azureClient({
      ...limits,
      transport,
      baseUrl: openai.url,
      apiKey: KEY,
      deployment: 'gpt-x',
      apiVersion: '2024-10-21',
    });

  it('calls the deployment URL with api-version and the api-key header', async () => {
    const r = await az().chat({ model: 'ignored', messages });
    expect(r.text).toBe('Hello from the fake provider.');
    const req = openai.requests[0];
    expect(req).toMatchObject({
      path: '/openai/deployments/gpt-x/chat/completions',
      query: { 'api-version': '2024-10-21' },
    });
    expect(req?.headers['api-key']).toBe(KEY);
    expect(req?.headers.authorization).toBeUndefined();
    expect(req?.body).toEqual({ messages });
    const events = await collect(az().chatStream({ model: 'ignored', messages }));
    expect(events.at(-1)).toMatchObject({ type: 'done', finish_reason: 'stop' });
  });

  it('tests against the resource and lists its deployment', async () => {
    await az().ping();
    expect(openai.requests[0]).toMatchObject({
      path: '/openai/models',
      query: { 'api-version': '2024-10-21' },
    });
    expect(await az().listModels()).toEqual([{ id: 'gpt-x', owned_by: 'azure-openai' }]);
  });
});

describe('Ollama client', () => {
  it('pings, lists tags and chats over NDJSON', async () => {
    await ol().ping();
    expect((await ol().listModels()).map((m) => m.id)).toEqual(['llama3.2:1b', 'qwen2.5:0.5b']);
    const events = await collect(ol().chatStream({ model: 'llama3.2:1b', messages, max_tokens: 9 }));
    expect(events.map((e) => (e.type === 'text' ? e.text : '')).join('')).toBe('Hello from the fake Ollama.');
    expect(events.at(-1)).toEqual({
      type: 'done',
      finish_reason: 'stop',
      usage: { prompt_tokens: 5, completion_tokens: 5 },
    });
    expect(ollama.requests.at(-1)?.body).toMatchObject({ stream: true, options: { num_predict: 9 } });
    const whole = await ol().chat({ model: 'llama3.2:1b', messages });
    expect(whole.text).toBe('Hello from the fake Ollama.');
  });

  it('maps its failures', async () => {
    const e404 = await failure(ol().chat({ model: 'nope', messages }));
    expect([e404.code, e404.upstreamStatus]).toEqual(['upstream_rejected', 404]);
    expect(e404.message).toContain("model 'nope' not found");
    ollama.setMode({ kind: 'bad-json' });
    expect((await failure(collect(ol().chatStream({ model: 'llama3.2:1b', messages })))).code).toBe(
      'upstream_bad_response',
    );
    ollama.setMode({ kind: 'drop-mid-stream' });
    expect((await failure(collect(ol().chatStream({ model: 'llama3.2:1b', messages })))).code).toBe(
      'upstream_disconnected',
    );
    ollama.setMode({ kind: 'status', status: 500 });
    expect((await failure(ol().listModels())).code).toBe('upstream_error');
  });
});

describe('egress at connect time', () => {
  it('refuses a name that resolves to a metadata address, without connecting', async () => {
    const resolver: Resolver = async () => [{ address: '169.254.169.254', family: 4 }];
    const t = createTransport({ egress: createEgressPolicy({ allow: loopback, resolver }) });
    try {
      const port = new URL(openai.url).port;
      const c = openAIClient({ ...limits, transport: t, baseUrl: `http://metadata.test:${port}/v1` });
      const e = await failure(c.listModels());
      expect(e.code).toBe('egress_denied');
      expect(e.message).toMatch(/metadata\.test resolves to 169\.254\.169\.254 is link-local/);
    } finally {
      t.close();
    }
  });

  it('checks every connection: a name that rebinds to a blocked address is refused on the next one', async () => {
    const answers = ['127.0.0.1', '169.254.169.254'];
    let calls = 0;
    const resolver: Resolver = async () => {
      const address = answers[Math.min(calls++, answers.length - 1)] as string;
      return [{ address, family: 4 }];
    };
    const egress = createEgressPolicy({ allow: loopback, resolver });
    // Two transports (two socket pools), so the second call opens and resolves a new connection.
    const [t1, t2] = [createTransport({ egress }), createTransport({ egress })];
    try {
      const port = new URL(openai.url).port;
      const client = (t: Transport) =>
        openAIClient({ ...limits, transport: t, baseUrl: `http://rebind.test:${port}/v1`, apiKey: KEY });
      expect(await client(t1).listModels()).toHaveLength(2);
      const e = await failure(client(t2).listModels());
      expect(e.code).toBe('egress_denied');
      expect(openai.requests).toHaveLength(1);
      expect(calls).toBe(2);
    } finally {
      t1.close();
      t2.close();
    }
  });

  it('refuses loopback when the policy does not list it', async () => {
    const t = createTransport({ egress: createEgressPolicy({ allow: loadConfig({}).egressAllow }) });
    try {
      const e = await failure(oa(KEY, t).listModels());
      expect(e.code).toBe('egress_denied');
      expect(e.message).toMatch(/loopback/);
      expect(openai.requests).toHaveLength(0);
    } finally {
      t.close();
    }
  });
});
