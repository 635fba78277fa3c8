import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tinyLlamaGguf } from '../fixtures/models/gguf.js';
import { multipart } from '../helpers/multipart.js';
import { assertOpenAIShape } from '../helpers/openai-schema.js';
import { ADMIN_PASSWORD, type PolarNode, startPolar } from './helpers.js';

/**
 * OpenAI's own client against a real `polar serve`, changed only in base URL and API key: a tiny
 * llama GGUF uploaded through the API is served by the llama runtime, and the raw JSON of each
 * answer is checked against OpenAI's published schemas.
 */
const MODEL = 'tiny-chat';
let node: PolarNode | undefined;
let client: OpenAI;
let apiKey: string;

async function api(token: string | null, method: string, path: string, body?: unknown) {
  const res = await fetch(`${node!.url}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text);
}

beforeAll(async () => {
  node = await startPolar('polar-e2e-openai-');
  const admin = (
    await api(null, 'POST', '/api/v1/auth/login', { username: 'admin', password: ADMIN_PASSWORD })
  ).token as string;
  const model = await api(admin, 'POST', '/api/v1/models', { name: MODEL, task: 'chat' });
  const upload = multipart([{ file: 'tiny.gguf', data: tinyLlamaGguf() }]);
  const up = await fetch(`${node.url}/api/v1/models/${model.id}/versions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, ...upload.headers },
    body: upload.payload,
  });
  expect(up.status, await up.clone().text()).toBe(201);
  // A plain user's API key: what an application would be given.
  await api(admin, 'POST', '/api/v1/users', {
    username: 'app-user',
    password: 'app-user-password',
    role: 'user',
  });
  const user = (
    await api(null, 'POST', '/api/v1/auth/login', { username: 'app-user', password: 'app-user-password' })
  ).token as string;
  apiKey = (await api(user, 'POST', '/api/v1/keys', { name: 'openai-client' })).key;
  client = new OpenAI({ baseURL: `${node.url}/v1`, apiKey, maxRetries: 0, timeout: 60_000 });
}, 90_000);

afterAll(async () => node?.stop());

describe('the official openai client against polar serve', () => {
  it('lists and retrieves models', async () => {
    const list = await client.models.list();
    expect(list.data.map((m) => m.id)).toContain(MODEL);
    const raw = await client.models.list().asResponse();
    assertOpenAIShape('ListModelsResponse', await raw.json());
    const one = await client.models.retrieve(MODEL);
    expect(one).toMatchObject({ id: MODEL, object: 'model' });
    await expect(client.models.retrieve('no-such-model')).rejects.toMatchObject({
      status: 404,
      code: 'model_not_found',
      type: 'not_found_error',
    });
  });

  it('creates a chat completion; the same seed gives the same answer, another seed another', async () => {
    const request = {
      model: MODEL,
      messages: [
        { role: 'system' as const, content: 'You are terse.' },
        { role: 'user' as const, content: 'Say something.' },
      ],
      max_tokens: 8,
      temperature: 1,
      seed: 7,
    };
    const raw = await client.chat.completions.create(request).asResponse();
    expect(raw.status).toBe(200);
    expect(raw.headers.get('x-polar-model-version')).toBe('1');
    const body = (await raw.json()) as OpenAI.Chat.Completions.ChatCompletion;
    assertOpenAIShape('CreateChatCompletionResponse', body);
    const answer = await client.chat.completions.create(request);
    expect(answer.object).toBe('chat.completion');
    expect(answer.model).toBe(MODEL);
    const choice = answer.choices[0]!;
    expect(choice.message.role).toBe('assistant');
    expect(choice.message.content).toBe(body.choices[0]!.message.content);
    const other = await client.chat.completions.create({ ...request, seed: 8 });
    expect(other.choices[0]!.message.content).not.toBe(choice.message.content);
    // The tiny model never ends on its own: it stops at max_tokens.
    expect(choice.finish_reason).toBe('length');
    expect(answer.usage).toMatchObject({ completion_tokens: 8 });
    expect(answer.usage!.prompt_tokens).toBeGreaterThan(5);
    expect(answer.usage!.total_tokens).toBe(answer.usage!.prompt_tokens + 8);
  });

  it('streams a chat completion with usage', async () => {
    const stream = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'Count to three.' }],
      max_tokens: 6,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    for (const c of chunks) assertOpenAIShape('CreateChatCompletionStreamResponse', c);
    expect(chunks[0]!.choices[0]!.delta.role).toBe('assistant');
    const finish = chunks.flatMap((c) => c.choices).find((c) => c.finish_reason !== null);
    expect(finish?.finish_reason).toBe('length');
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage).toMatchObject({ completion_tokens: 6 });
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    expect(text.length).toBeGreaterThan(0);
  });

  it('completes a prompt', async () => {
    const raw = await client.completions
      .create({ model: MODEL, prompt: 'Once upon a time', max_tokens: 5 })
      .asResponse();
    const body = (await raw.json()) as OpenAI.Completions.Completion;
    assertOpenAIShape('CreateCompletionResponse', body);
    expect(body.choices[0]).toMatchObject({ index: 0, finish_reason: 'length' });
    expect(body.usage?.completion_tokens).toBe(5);

    const stream = await client.completions.create({
      model: MODEL,
      prompt: 'Once',
      max_tokens: 3,
      stream: true,
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
    expect(text.length).toBeGreaterThan(0);
  });

  it('embeds texts (base64 by default in the client, floats on request)', async () => {
    const decoded = await client.embeddings.create({ model: MODEL, input: ['hello', 'world'] });
    expect(decoded.data.map((d) => d.index)).toEqual([0, 1]);
    expect(decoded.data[0]!.embedding.length).toBe(64);
    expect(decoded.usage.prompt_tokens).toBeGreaterThan(0);
    const raw = await client.embeddings
      .create({ model: MODEL, input: ['hello', 'world'], encoding_format: 'float' })
      .asResponse();
    const floats = (await raw.json()) as OpenAI.Embeddings.CreateEmbeddingResponse;
    assertOpenAIShape('CreateEmbeddingResponse', floats);
    expect(floats.data[0]!.embedding.length).toBe(64);
    for (const [i, d] of decoded.data.entries())
      expect(Array.from(d.embedding)).toEqual(floats.data[i]!.embedding.map((x) => Math.fround(x)));
  });

  it('raises OpenAI error classes with Polar’s codes', async () => {
    const messages = [{ role: 'user' as const, content: 'hi' }];
    await expect(client.chat.completions.create({ model: MODEL, messages, n: 2 })).rejects.toMatchObject({
      status: 400,
      param: 'n',
      code: 'unsupported_parameter',
    });
    const stranger = new OpenAI({ baseURL: `${node!.url}/v1`, apiKey: 'pk_wrong', maxRetries: 0 });
    const denied = stranger.chat.completions.create({ model: MODEL, messages });
    await expect(denied).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    await expect(client.chat.completions.create({ model: 'nope', messages })).rejects.toBeInstanceOf(
      OpenAI.NotFoundError,
    );
  });
});
