import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp, type TestUser } from '../../../test/helpers/app.js';
import {
  assertOpenAIShape,
  expectOpenAIBody,
  expectOpenAIError,
  openaiSchemaErrors,
} from '../../../test/helpers/openai-schema.js';
import { addVersion, modelWithVersion, SCRIPTED_RUNTIME } from '../../../test/helpers/serving.js';

/**
 * The OpenAI-compatible API over the scripted runtime (which echoes the last user message word by
 * word): every body, chunk and error is checked against OpenAI's own published schemas.
 */
let t: TestApp;
let dev: TestUser;
let plain: TestUser;
/** A user-role API key with every permission of its owner. */
let userKey: string;
/** A user's API key without the 'inference' scope. */
let readOnlyKey: string;
let chatModel: { id: string; name: string };

const newKey = async (who: TestUser, scopes?: string[]) => {
  const res = await t.as(who.token, {
    method: 'POST',
    url: '/api/v1/keys',
    payload: { name: `k-${Math.random()}`, ...(scopes ? { scopes } : {}) },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().key as string;
};

beforeAll(async () => {
  t = await createTestApp({ deps: { runtimes: [SCRIPTED_RUNTIME] } });
  dev = await t.user('developer');
  plain = await t.user('user');
  userKey = await newKey(plain);
  readOnlyKey = await newKey(plain, ['models:read']);
  chatModel = await modelWithVersion(t, dev);
});
afterAll(async () => t?.close());

const post = (url: string, payload: object, token: string | null = userKey) =>
  t.as(token, { method: 'POST', url, payload });
const get = (url: string, token: string | null = userKey) => t.as(token, { method: 'GET', url });
const chat = (payload: object, token?: string | null) =>
  post('/v1/chat/completions', { model: chatModel.name, ...payload }, token);
const say = (text: string, extra: object = {}) =>
  chat({ messages: [{ role: 'user', content: text }], ...extra });

const ok = expectOpenAIBody;
const openaiError = expectOpenAIError;

describe('the OpenAI schema validator', () => {
  it('accepts a valid body and rejects broken ones', () => {
    const good = {
      id: 'chatcmpl-1',
      object: 'chat.completion',
      created: 1,
      model: 'm',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: 'hi', refusal: null },
          logprobs: null,
          finish_reason: 'stop',
        },
      ],
      usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
    };
    expect(openaiSchemaErrors('CreateChatCompletionResponse', good)).toEqual([]);
    const broken = (patch: object) => ({ ...good, ...patch });
    expect(openaiSchemaErrors('CreateChatCompletionResponse', broken({ object: 'chat' }))).not.toEqual([]);
    expect(openaiSchemaErrors('CreateChatCompletionResponse', broken({ created: 'now' }))).not.toEqual([]);
    const { choices: _, ...noChoices } = good;
    expect(openaiSchemaErrors('CreateChatCompletionResponse', noChoices)).not.toEqual([]);
    const cancelled = broken({ choices: [{ ...good.choices[0], finish_reason: 'cancelled' }] });
    expect(openaiSchemaErrors('CreateChatCompletionResponse', cancelled)).not.toEqual([]);
    expect(() => assertOpenAIShape('CreateChatCompletionResponse', cancelled)).toThrow(/finish_reason/);
    expect(
      openaiSchemaErrors('ErrorResponse', { error: { message: 'x', type: 'y', code: 'z' } }),
    ).not.toEqual([]);
    // `nullable` of the 3.0 era still means null is allowed in a stream chunk; a wrong type is not.
    const chunk = {
      id: 'c',
      object: 'chat.completion.chunk',
      created: 1,
      model: 'm',
      choices: [{ index: 0, delta: { content: 'a' }, finish_reason: null }],
      usage: null,
    };
    expect(openaiSchemaErrors('CreateChatCompletionStreamResponse', chunk)).toEqual([]);
    expect(
      openaiSchemaErrors('CreateChatCompletionStreamResponse', { ...chunk, usage: { prompt_tokens: 'x' } }),
    ).not.toEqual([]);
    expect(() => openaiSchemaErrors('NoSuchSchema', {})).toThrow(/no schema/);
  });
});

describe('models', () => {
  it('lists every servable model the caller may use, once, by name', async () => {
    const priv = await modelWithVersion(t, dev, { visibility: 'private' });
    const st = await t.as(dev.token, {
      method: 'POST',
      url: '/api/v1/models',
      payload: { name: `st-${Date.now()}`, task: 'chat' },
    });
    const { tinySafetensors } = await import('../../../test/fixtures/models/safetensors.js');
    await addVersion(t, dev, st.json().id, [{ file: 'model.safetensors', data: tinySafetensors() }]);

    const list = ok(await get('/v1/models'), 'ListModelsResponse');
    const ids = list.data.map((m: { id: string }) => m.id);
    expect(ids).toContain(chatModel.name);
    expect(ids).not.toContain(priv.name); // another user's private model
    expect(ids).not.toContain(st.json().name); // no runtime serves safetensors
    expect(new Set(ids).size).toBe(ids.length);
    const entry = list.data.find((m: { id: string }) => m.id === chatModel.name);
    expect(entry).toEqual({
      id: chatModel.name,
      object: 'model',
      created: expect.any(Number),
      owned_by: dev.id,
    });
    expect(Math.abs(entry.created - Date.now() / 1000)).toBeLessThan(600);
    expect(
      ok(await get('/v1/models', dev.token), 'ListModelsResponse').data.map((m: { id: string }) => m.id),
    ).toContain(priv.name);
  });

  it('describes one model by name, name:version or name@alias, and 404s in OpenAI shape', async () => {
    const res = await get(`/v1/models/${chatModel.name}`);
    expect(ok(res, 'Model')).toMatchObject({ id: chatModel.name, object: 'model' });
    expect(res.headers['x-polar-model-version']).toBe('1');
    expect(res.headers['x-request-id']).toBeTruthy();
    expect(ok(await get(`/v1/models/${chatModel.name}:1`), 'Model').id).toBe(`${chatModel.name}:1`);
    openaiError(await get(`/v1/models/${chatModel.name}:9`), 404, {
      type: 'not_found_error',
      code: 'version_not_found',
    });
    openaiError(await get(`/v1/models/${chatModel.name}@nope`), 404, {
      type: 'not_found_error',
      code: 'alias_not_found',
    });
    openaiError(await get('/v1/models/no-such-model'), 404, {
      type: 'not_found_error',
      code: 'model_not_found',
    });
  });
});

describe('chat completions', () => {
  it('answers with OpenAI’s shape, usage counts and the version header', async () => {
    const res = await chat({
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'developer', content: [{ type: 'text', text: 'really brief' }] },
        { role: 'user', content: 'first question' },
        { role: 'assistant', content: 'first answer', refusal: null },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'hello there' },
            { type: 'text', text: 'polar' },
          ],
        },
      ],
      user: 'end-user-7',
    });
    const body = ok(res, 'CreateChatCompletionResponse');
    expect(body).toEqual({
      id: expect.stringMatching(/^chatcmpl-[\w-]{10,}$/),
      object: 'chat.completion',
      created: expect.any(Number),
      model: chatModel.name,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: 'hello there polar', refusal: null },
          logprobs: null,
          finish_reason: 'stop',
        },
      ],
      usage: { prompt_tokens: 3, completion_tokens: 3, total_tokens: 6 },
    });
    expect(Math.abs(body.created - Date.now() / 1000)).toBeLessThan(60);
    expect(res.headers['x-polar-model-version']).toBe('1');
    expect(res.headers['x-request-id']).toBeTruthy();
    expect((await say('again')).json().id).not.toBe(body.id);
  });

  it('ends at a stop string with finish_reason stop, and at max_tokens with length', async () => {
    const stopped = ok(await say('one two three four', { stop: 'three' }), 'CreateChatCompletionResponse');
    expect(stopped.choices[0]).toMatchObject({ message: { content: 'one two ' }, finish_reason: 'stop' });
    const list = ok(
      await say('one two three four', { stop: ['zzz', ' two'] }),
      'CreateChatCompletionResponse',
    );
    expect(list.choices[0].message.content).toBe('one');

    const long = ok(await say('a b c d e', { max_tokens: 2 }), 'CreateChatCompletionResponse');
    expect(long.choices[0]).toMatchObject({ message: { content: 'a b' }, finish_reason: 'length' });
    expect(long.usage).toEqual({ prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 });
    const newer = ok(await say('a b c d e', { max_completion_tokens: 3 }), 'CreateChatCompletionResponse');
    expect(newer.choices[0]).toMatchObject({ message: { content: 'a b c' }, finish_reason: 'length' });
  });

  it('passes seed and sampling parameters (with the top_k and repetition_penalty extensions) through', async () => {
    const res = await say('PARAMS', {
      seed: 42,
      temperature: 0.5,
      top_p: 0.8,
      top_k: 7,
      repetition_penalty: 1.1,
      max_tokens: 50,
      stop: ['x'],
      n: 1,
      frequency_penalty: 0,
      presence_penalty: null,
      logit_bias: {},
      tools: [],
      response_format: { type: 'text' },
    });
    const used = JSON.parse(ok(res, 'CreateChatCompletionResponse').choices[0].message.content);
    expect(used).toMatchObject({
      seed: 42,
      temperature: 0.5,
      top_p: 0.8,
      top_k: 7,
      repetition_penalty: 1.1,
      max_length: 50,
      stop: ['x'],
    });
    const defaults = JSON.parse((await say('PARAMS')).json().choices[0].message.content);
    expect(defaults).toMatchObject({ temperature: 1, top_k: 50, max_length: 100 });
    expect(defaults.seed).toBeUndefined();
  });

  it('refuses what it cannot honour with a 400 naming the parameter', async () => {
    const refused: [object, string | null][] = [
      [{ n: 2 }, 'n'],
      [{ frequency_penalty: 0.5 }, 'frequency_penalty'],
      [{ presence_penalty: -1 }, 'presence_penalty'],
      [{ logit_bias: { '50256': -100 } }, 'logit_bias'],
      [{ logprobs: true }, 'logprobs'],
      [{ tools: [{ type: 'function', function: { name: 'f' } }] }, 'tools'],
      [{ response_format: { type: 'json_object' } }, 'response_format'],
      [{ stream_options: { include_usage: true } }, 'stream_options'],
    ];
    for (const [extra, param] of refused) {
      const e = openaiError(await say('hi', extra), 400, {
        type: 'invalid_request_error',
        code: 'unsupported_parameter',
        param,
      });
      expect(e.message).toContain(param);
    }
    const image = { type: 'image_url', image_url: { url: 'http://x/y.png' } };
    openaiError(await chat({ messages: [{ role: 'user', content: [image] }] }), 400, {
      type: 'invalid_request_error',
      code: 'unsupported_parameter',
      param: 'messages[0].content[0].type',
    });
    openaiError(await chat({ messages: [{ role: 'tool', content: 'r', tool_call_id: 'c1' }] }), 400, {
      type: 'invalid_request_error',
      code: 'unsupported_parameter',
      param: 'messages[0].role',
    });
    const invalid: [object, string | null][] = [
      [{ max_tokens: 5000 }, 'max_tokens'],
      [{ temperature: 3 }, 'temperature'],
      [{ top_k: 0 }, 'top_k'],
      [{ seed: -1 }, 'seed'],
      [{ stop: ['a', 'b', 'c', 'd', 'e'] }, 'stop'],
      [{ nonsense: true }, null],
    ];
    for (const [extra, param] of invalid) {
      openaiError(await say('hi', extra), 400, {
        type: 'invalid_request_error',
        code: 'validation_error',
        param,
      });
    }
    expect(
      openaiError(await say('hi', { nonsense: true }), 400, {
        type: 'invalid_request_error',
        code: 'validation_error',
      }).message,
    ).toMatch(/nonsense/);
    openaiError(await chat({ messages: [] }), 400, {
      type: 'invalid_request_error',
      code: 'validation_error',
      param: 'messages',
    });
    openaiError(await post('/v1/chat/completions', { messages: [{ role: 'user', content: 'x' }] }), 400, {
      type: 'invalid_request_error',
      code: 'validation_error',
      param: 'model',
    });
    openaiError(await say('hi', { model: 'a:b:c' }), 400, {
      type: 'invalid_request_error',
      code: 'validation_error',
    });
  });

  it('answers 404 for an unknown model and 400 for one that cannot chat', async () => {
    openaiError(await say('hi', { model: 'no-such-model' }), 404, {
      type: 'not_found_error',
      code: 'model_not_found',
    });
    const reg = await modelWithVersion(t, dev, { task: 'regression' });
    openaiError(await say('hi', { model: reg.name }), 400, {
      type: 'invalid_request_error',
      code: 'model_cannot_generate',
    });
  });
});

describe('authentication and permissions in OpenAI’s shape', () => {
  const hello = { messages: [{ role: 'user', content: 'hello' }] };

  it('401 without or with a bad key; a user-role key works; 403 without the inference scope', async () => {
    openaiError(await chat(hello, null), 401, { type: 'authentication_error', code: 'unauthorized' });
    openaiError(await chat(hello, 'pk_not-a-real-key'), 401, {
      type: 'authentication_error',
      code: 'invalid_token',
    });
    openaiError(await get('/v1/models', null), 401, { type: 'authentication_error', code: 'unauthorized' });
    const bad = await t.app.inject({
      method: 'GET',
      url: '/v1/models',
      headers: { authorization: 'Basic abc' },
    });
    openaiError(bad, 401, { type: 'authentication_error', code: 'invalid_authorization_header' });

    ok(await chat(hello, userKey), 'CreateChatCompletionResponse');
    ok(await chat(hello, plain.token), 'CreateChatCompletionResponse'); // a session token too
    const denied = openaiError(await chat(hello, readOnlyKey), 403, {
      type: 'permission_error',
      code: 'permission_denied',
    });
    expect(denied.message).toMatch(/inference/);
    openaiError(await post('/v1/embeddings', { model: chatModel.name, input: 'x' }, readOnlyKey), 403, {
      type: 'permission_error',
      code: 'permission_denied',
    });
    ok(await get('/v1/models', readOnlyKey), 'ListModelsResponse');
  });

  it('unknown /v1 paths are 404 in OpenAI’s shape; /api/v1 keeps problem+json', async () => {
    openaiError(await get('/v1/assistants'), 404, { type: 'not_found_error', code: 'route_not_found' });
    openaiError(await post('/v1/responses', {}), 404, { type: 'not_found_error', code: 'route_not_found' });
    const api = await get('/api/v1/nope');
    expect(api.statusCode).toBe(404);
    expect(api.headers['content-type']).toMatch(/problem\+json/);
    const broken = await t.app.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      headers: { authorization: `Bearer ${userKey}`, 'content-type': 'application/json' },
      payload: '{"model": ',
    });
    openaiError(broken, 400, { type: 'invalid_request_error', code: 'invalid_json' });
  });
});
