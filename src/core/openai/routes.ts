import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { clientGone } from '../../platform/http/abort.js';
import {
  chatCompletion,
  chatCompletionBody,
  completionBody,
  embeddingBody,
  embeddingList,
  modelList,
  modelObject,
  modelParams,
  textCompletion,
} from './schema.js';
import type { OpenAI } from './service.js';
import { sendEvents } from './sse.js';

/** The version a request was served by (OpenAI's `model` field carries the name as addressed). */
export const VERSION_HEADER = 'x-polar-model-version';

const includeUsage = (b: { stream_options?: { include_usage?: boolean | undefined } | null | undefined }) =>
  b.stream_options?.include_usage === true;

/**
 * OpenAI's API shapes, registered under /v1 so OpenAI's clients work with only their base URL and
 * key changed. Errors under /v1/ take OpenAI's shape (see errors.ts, wired in the error handler).
 * `GET /models` lists each servable model once, by name; `name@alias` and `name:version` are
 * accepted wherever a model is named, including `GET /models/{model}`.
 */
export const openaiRoutes: FastifyPluginAsyncZod<{ openai: OpenAI }> = async (app, { openai }) => {
  const tags = ['openai'];
  app.get(
    '/models',
    {
      config: { auth: 'models:read' },
      schema: { tags, summary: 'List the models the caller may use', response: { 200: modelList } },
    },
    async (request) => openai.listModels(request.ctx()),
  );
  app.get(
    '/models/:model',
    {
      config: { auth: 'models:read' },
      schema: {
        tags,
        summary: 'Describe one model (name, name@alias or name:version)',
        params: modelParams,
        response: { 200: modelObject },
      },
    },
    async (request, reply) => {
      const r = await openai.getModel(request.ctx(), request.params.model);
      reply.header(VERSION_HEADER, String(r.version));
      return r.model;
    },
  );
  app.post(
    '/chat/completions',
    {
      config: { auth: 'inference' },
      schema: {
        tags,
        summary: 'Answer a conversation (streamed as server-sent events with "stream": true)',
        body: chatCompletionBody,
        response: { 200: chatCompletion },
      },
    },
    async (request, reply) => {
      const g = await openai.startChat(request.ctx(), request.body, clientGone(reply));
      reply.header(VERSION_HEADER, String(g.version));
      if (request.body.stream)
        return sendEvents(reply, openai.chatChunks(g, includeUsage(request.body)), request.log);
      return openai.chatResult(g);
    },
  );
  app.post(
    '/completions',
    {
      config: { auth: 'inference' },
      schema: {
        tags,
        summary: 'Continue a prompt (streamed as server-sent events with "stream": true)',
        body: completionBody,
        response: { 200: textCompletion },
      },
    },
    async (request, reply) => {
      const g = await openai.startCompletion(request.ctx(), request.body, clientGone(reply));
      reply.header(VERSION_HEADER, String(g.version));
      if (request.body.stream)
        return sendEvents(reply, openai.completionChunks(g, includeUsage(request.body)), request.log);
      return openai.completionResult(g);
    },
  );
  app.post(
    '/embeddings',
    {
      config: { auth: 'inference' },
      schema: { tags, summary: 'Embed texts', body: embeddingBody, response: { 200: embeddingList } },
    },
    async (request, reply) => {
      const r = await openai.embeddings(request.ctx(), request.body, clientGone(reply));
      reply.header(VERSION_HEADER, String(r.version));
      return r.body;
    },
  );
};
