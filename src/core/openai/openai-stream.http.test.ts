import { request as httpRequest, type IncomingMessage } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp, type TestUser } from '../../../test/helpers/app.js';
import {
  assertOpenAIShape,
  expectOpenAIBody,
  expectOpenAIError,
  sseData,
} from '../../../test/helpers/openai-schema.js';
import { modelWithVersion, SCRIPTED_RUNTIME } from '../../../test/helpers/serving.js';

/**
 * Streams, overload, crashes and disconnects of the OpenAI-compatible API over the scripted runtime
 * (echoes the last user message word by word; HANG never ends until aborted; CRASH kills its process).
 */
let t: TestApp;
let dev: TestUser;
let plain: TestUser;

beforeAll(async () => {
  t = await createTestApp({ deps: { runtimes: [SCRIPTED_RUNTIME] } });
  dev = await t.user('developer');
  plain = await t.user('user');
});
afterAll(async () => t?.close());

const post = (url: string, payload: object, token = plain.token) =>
  t.as(token, { method: 'POST', url, payload });
const chat = (model: string, text: string, extra: object = {}) =>
  post('/v1/chat/completions', { model, messages: [{ role: 'user', content: text }], ...extra });
const runtime = async () => (await t.as(t.admin.token, { method: 'GET', url: '/api/v1/runtime' })).json();
const activeOn = async (id: string): Promise<number> =>
  (await runtime()).models.find((e: { model_id: string }) => e.model_id === id)?.active ?? 0;
const policy = async (values: Record<string, unknown>) => {
  const res = await t.as(t.admin.token, {
    method: 'PUT',
    url: '/api/v1/settings/serving/runtime',
    payload: {
      max_loaded_models: 4,
      memory_budget_mb: 0,
      keep_alive_seconds: 300,
      single_model_mode: false,
      auto_load: true,
      queue_size: 16,
      ...values,
    },
  });
  expect(res.statusCode, res.body).toBeLessThan(300);
};
const load = async (id: string, config: object = {}) => {
  const res = await post(`/api/v1/models/${id}/load`, { config }, dev.token);
  expect(res.statusCode, res.body).toBe(200);
};
const unload = (id: string) => post(`/api/v1/models/${id}/unload`, {}, dev.token);

type Chunk = Record<string, unknown> & { id: string; created: number; choices: Record<string, unknown>[] };

/** The stream's JSON chunks, each checked against `schema`, after checking it ends with [DONE]. */
function chunksOf(
  res: { statusCode: number; body: string; headers: Record<string, unknown> },
  schema: string,
) {
  expect(res.statusCode, res.body).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
  const events = sseData(res.body);
  expect(events.at(-1)).toBe('[DONE]');
  const chunks = events.slice(0, -1) as Chunk[];
  for (const c of chunks) assertOpenAIShape(schema, c);
  expect(new Set(chunks.map((c) => `${c.id} ${c.created}`)).size).toBe(1);
  return chunks;
}

describe('streamed chat completions', () => {
  it('sends a role chunk, content deltas, a finish chunk and [DONE]', async () => {
    const m = await modelWithVersion(t, dev);
    const res = await chat(m.name, 'hello there polar', { stream: true });
    expect(res.headers['x-polar-model-version']).toBe('1');
    expect(res.headers['x-request-id']).toBeTruthy();
    const chunks = chunksOf(res, 'CreateChatCompletionStreamResponse');
    expect(chunks[0]).toMatchObject({
      id: expect.stringMatching(/^chatcmpl-/),
      object: 'chat.completion.chunk',
      model: m.name,
      choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }],
    });
    const deltas = chunks.slice(1, -1).map((c) => c.choices[0] as { delta: { content: string } });
    expect(deltas.map((d) => d.delta.content)).toEqual(['hello', ' there', ' polar']);
    expect(chunks.at(-1)?.choices).toEqual([{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }]);
    expect(chunks.every((c) => !('usage' in c))).toBe(true);
  });

  it('with include_usage: usage null on every chunk, then one chunk with no choices and the usage', async () => {
    const m = await modelWithVersion(t, dev);
    const res = await chat(m.name, 'a b c d e', {
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 3,
    });
    const chunks = chunksOf(res, 'CreateChatCompletionStreamResponse');
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage).toEqual({ prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 });
    for (const c of chunks.slice(0, -1)) expect(c.usage).toBeNull();
    expect(chunks.at(-2)?.choices[0]).toMatchObject({ finish_reason: 'length' });
    const text = chunks.map((c) => (c.choices[0]?.delta as { content?: string })?.content ?? '').join('');
    expect(text).toBe('a b c');
  });

  it('a failure after the stream started is an error event that ends it; before, a 503', async () => {
    const m = await modelWithVersion(t, dev);
    await load(m.id);
    const res = await chat(m.name, 'please CRASH', { stream: true });
    expect(res.statusCode).toBe(200);
    const events = sseData(res.body) as Record<string, unknown>[];
    expect(events).not.toContain('[DONE]');
    assertOpenAIShape('CreateChatCompletionStreamResponse', events[0]);
    const failure = events.at(-1)!;
    assertOpenAIShape('ErrorResponse', failure);
    expect(failure.error).toMatchObject({ type: 'server_error', code: 'runtime_crashed' });

    await load(m.id);
    const whole = await chat(m.name, 'please CRASH');
    expectOpenAIError(whole, 503, { type: 'server_error', code: 'runtime_crashed' });
    expect(Number(whole.headers['retry-after'])).toBeGreaterThan(0);
    await unload(m.id);
  });
});

describe('completions', () => {
  it('completes a prompt, whole or streamed', async () => {
    const m = await modelWithVersion(t, dev, { task: 'completion' });
    const whole = await post('/v1/completions', { model: m.name, prompt: 'once upon a time', max_tokens: 3 });
    expect(expectOpenAIBody(whole, 'CreateCompletionResponse')).toEqual({
      id: expect.stringMatching(/^cmpl-/),
      object: 'text_completion',
      created: expect.any(Number),
      model: m.name,
      choices: [{ index: 0, text: 'once upon a', logprobs: null, finish_reason: 'length' }],
      usage: { prompt_tokens: 4, completion_tokens: 3, total_tokens: 7 },
    });
    expect(whole.headers['x-polar-model-version']).toBe('1');
    const one = await post('/v1/completions', { model: `${m.name}:1`, prompt: ['x y'], stop: [' y'] });
    expect(expectOpenAIBody(one, 'CreateCompletionResponse').choices[0]).toMatchObject({
      text: 'x',
      finish_reason: 'stop',
    });

    const res = await post('/v1/completions', {
      model: m.name,
      prompt: 'one two three',
      stream: true,
      stream_options: { include_usage: true },
    });
    const events = sseData(res.body);
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1) as Chunk[];
    // OpenAI's API sends finish_reason null until the last choice, though its document's enum for
    // this shape leaves null out; the null is checked here, the rest against the document.
    for (const c of chunks) {
      const nulled = c.choices.map((ch) => ({ ...ch, finish_reason: ch.finish_reason ?? 'stop' }));
      assertOpenAIShape('CreateCompletionResponse', { ...c, choices: nulled });
    }
    expect(chunks.map((c) => c.choices[0]?.text ?? '').join('')).toBe('one two three');
    expect(chunks.slice(0, -2).every((c) => c.choices[0]?.finish_reason === null)).toBe(true);
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('stop');
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 3, completion_tokens: 3 } });
  });

  it('refuses token arrays, several prompts and echo with a 400 naming the parameter', async () => {
    const m = await modelWithVersion(t, dev, { task: 'completion' });
    const cases: [object, string][] = [
      [{ prompt: [1, 2, 3] }, 'prompt'],
      [{ prompt: ['a', 'b'] }, 'prompt'],
      [{ prompt: 'a', echo: true }, 'echo'],
      [{ prompt: 'a', best_of: 2 }, 'best_of'],
      [{ prompt: 'a', n: 3 }, 'n'],
      [{ prompt: 'a', logprobs: 2 }, 'logprobs'],
    ];
    for (const [body, param] of cases)
      expectOpenAIError(await post('/v1/completions', { model: m.name, ...body }), 400, {
        type: 'invalid_request_error',
        code: 'unsupported_parameter',
        param,
      });
  });
});

describe('embeddings', () => {
  it('embeds a string or an array as floats or base64, with usage', async () => {
    const m = await modelWithVersion(t, dev, { task: 'embedding' });
    const one = await post('/v1/embeddings', { model: m.name, input: 'hello world' });
    const body = expectOpenAIBody(one, 'CreateEmbeddingResponse');
    expect(body).toEqual({
      object: 'list',
      data: [{ object: 'embedding', index: 0, embedding: [1.1, 1.2, 1.3, 1.4] }],
      model: m.name,
      usage: { prompt_tokens: 2, total_tokens: 2 },
    });
    expect(one.headers['x-polar-model-version']).toBe('1');

    const floats = expectOpenAIBody(
      await post('/v1/embeddings', { model: m.name, input: ['a', 'bb cc'], encoding_format: 'float' }),
      'CreateEmbeddingResponse',
    );
    expect(floats.data.map((d: { index: number }) => d.index)).toEqual([0, 1]);
    expect(floats.usage).toEqual({ prompt_tokens: 3, total_tokens: 3 });
    const b64 = await post('/v1/embeddings', {
      model: m.name,
      input: ['a', 'bb cc'],
      encoding_format: 'base64',
    });
    expect(b64.statusCode, b64.body).toBe(200);
    for (const [i, d] of (b64.json().data as { embedding: string }[]).entries()) {
      const bytes = Buffer.from(d.embedding, 'base64');
      const decoded = Array.from({ length: bytes.length / 4 }, (_, k) => bytes.readFloatLE(k * 4));
      expect(decoded).toEqual(floats.data[i].embedding.map((x: number) => Math.fround(x)));
    }
    expectOpenAIBody(
      await post('/v1/embeddings', { model: m.name, input: 'x', dimensions: 4 }),
      'CreateEmbeddingResponse',
    );
  });

  it('refuses token arrays, empty strings and other dimensions', async () => {
    const m = await modelWithVersion(t, dev, { task: 'embedding' });
    const refuse = async (body: object, code: string, param: string) =>
      expectOpenAIError(await post('/v1/embeddings', { model: m.name, ...body }), 400, {
        type: 'invalid_request_error',
        code,
        param,
      });
    await refuse({ input: [1, 2] }, 'unsupported_parameter', 'input');
    await refuse({ input: [[1, 2]] }, 'unsupported_parameter', 'input');
    await refuse({ input: 'x', dimensions: 8 }, 'unsupported_parameter', 'dimensions');
    await refuse({ input: '' }, 'validation_error', 'input');
    await refuse({ input: 'x', encoding_format: 'int8' }, 'validation_error', 'encoding_format');
    expectOpenAIError(await post('/v1/embeddings', { model: 'nope', input: 'x' }), 404, {
      type: 'not_found_error',
      code: 'model_not_found',
    });
  });
});

describe('overload and disconnects', () => {
  it('answers 429 in OpenAI’s shape with Retry-After when the queue is full', async () => {
    await policy({ queue_size: 1 });
    const m = await modelWithVersion(t, dev);
    await load(m.id, { word_ms: 40 });
    const results = await Promise.all(
      [false, false, true, true].map((stream) => chat(m.name, 'one two three four five', { stream })),
    );
    expect(results.map((r) => r.statusCode).sort()).toEqual([200, 200, 429, 429]);
    for (const r of results.filter((x) => x.statusCode === 429)) {
      expectOpenAIError(r, 429, { type: 'rate_limit_error', code: 'model_busy' });
      expect(Number(r.headers['retry-after'])).toBeGreaterThan(0);
    }
    await unload(m.id);
    await policy({});
  });

  for (const stream of [true, false]) {
    it(`stops the generation when the client disconnects (${stream ? 'stream' : 'whole answer'})`, async () => {
      const m = await modelWithVersion(t, dev);
      await load(m.id);
      const address = await t.app.listen({ port: 0, host: '127.0.0.1' }).catch(() => listening());
      const req = httpRequest(`${address}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${plain.token}`, 'content-type': 'application/json' },
      });
      req.on('error', () => undefined);
      const response = new Promise<IncomingMessage>((resolve) => req.on('response', resolve));
      req.end(JSON.stringify({ model: m.name, stream, messages: [{ role: 'user', content: 'HANG on' }] }));
      for (let i = 0; i < 100 && (await activeOn(m.id)) === 0; i++) await sleep(20);
      expect(await activeOn(m.id)).toBe(1);
      if (stream) {
        // The role chunk is out before the first token: the client knows the request was accepted.
        const res = await response;
        expect(res.statusCode).toBe(200);
        const first = await new Promise<string>((resolve) => res.once('data', (d) => resolve(String(d))));
        expect(first).toMatch(/^data: .*"role":"assistant"/);
      }
      req.destroy();
      for (let i = 0; i < 150 && (await activeOn(m.id)) > 0; i++) await sleep(20);
      expect(await activeOn(m.id)).toBe(0);
      // The slot is free again: the model still answers.
      expect((await chat(m.name, 'still here')).json().choices[0].message.content).toBe('still here');
      await unload(m.id);
    });
  }

  it('frees the model slot when a client leaves while text is still streaming', async () => {
    const m = await modelWithVersion(t, dev);
    await load(m.id, { word_ms: 5 });
    const address = await t.app.listen({ port: 0, host: '127.0.0.1' }).catch(() => listening());
    const req = httpRequest(`${address}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${plain.token}`, 'content-type': 'application/json' },
    });
    req.on('error', () => undefined);
    const res = await new Promise<IncomingMessage>((resolve) => {
      req.on('response', resolve);
      const words = Array.from({ length: 1000 }, (_, i) => `w${i}`).join(' ');
      req.end(
        JSON.stringify({
          model: m.name,
          stream: true,
          max_tokens: 2000,
          messages: [{ role: 'user', content: words }],
        }),
      );
    });
    let seen = 0;
    await new Promise<void>((resolve) =>
      res.on('data', (d: Buffer) => {
        seen += String(d).split('data: ').length - 1;
        if (seen >= 5) resolve();
      }),
    );
    req.destroy();
    for (let i = 0; i < 150 && (await activeOn(m.id)) > 0; i++) await sleep(20);
    expect(await activeOn(m.id)).toBe(0);
    await unload(m.id);
  });

  it('records each call under its endpoint', async () => {
    const m = await modelWithVersion(t, dev);
    await chat(m.name, 'one two');
    await post('/v1/completions', { model: m.name, prompt: 'one two three' });
    await post('/v1/embeddings', { model: m.name, input: ['a', 'b'] });
    await sleep(1200); // the recorder flushes about every second
    const metrics = (await t.as(t.admin.token, { method: 'GET', url: '/metrics' })).body;
    for (const endpoint of ['chat_completions', 'completions', 'embeddings'])
      expect(metrics).toMatch(
        new RegExp(
          `polar_inference_requests_total\\{model="${m.name}",endpoint="${endpoint}",status="ok"\\} 1`,
        ),
      );
    await unload(m.id);
  });
});

function listening(): string {
  const a = t.app.server.address();
  if (!a || typeof a === 'string') throw new Error('not listening');
  return `http://127.0.0.1:${a.port}`;
}
