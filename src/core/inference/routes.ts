import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { clientGone } from '../../platform/http/abort.js';
import type { Chat } from './chat.js';
import {
  chatBody,
  chatResponse,
  modelParams,
  predictBatchBody,
  predictBatchResponse,
  predictBody,
  predictResponse,
} from './schema.js';
import type { InferenceService } from './types.js';

const ref = (id: string, b: { version?: number | undefined; alias?: string | undefined }) =>
  b.version !== undefined ? `${id}:${b.version}` : b.alias !== undefined ? `${id}@${b.alias}` : id;

export const inferenceRoutes: FastifyPluginAsyncZod<{ inference: InferenceService; chat: Chat }> = async (
  app,
  { inference, chat },
) => {
  const tags = ['inference'];
  app.post(
    '/chat',
    {
      config: { auth: 'inference' },
      schema: {
        tags,
        summary: 'Answer a chat message (whole answer, 60 s limit)',
        body: chatBody,
        response: { 200: chatResponse },
      },
    },
    async (request, reply) => chat(request.ctx(), request.body, clientGone(reply)),
  );
  app.post(
    '/models/:id/predict',
    {
      config: { auth: 'inference' },
      schema: {
        tags,
        summary: 'Predict one row',
        params: modelParams,
        body: predictBody,
        response: { 200: predictResponse },
      },
    },
    async (request, reply) => {
      const r = await inference.predict(request.ctx(), {
        model: ref(request.params.id, request.body),
        rows: [request.body.input],
        endpoint: 'predict',
        signal: clientGone(reply),
      });
      return {
        model: r.model,
        version: r.version,
        prediction: r.predictions[0],
        probabilities: r.probabilities?.[0] ?? null,
      };
    },
  );
  app.post(
    '/models/:id/predict_batch',
    {
      config: { auth: 'inference' },
      schema: {
        tags,
        summary: 'Predict many rows',
        params: modelParams,
        body: predictBatchBody,
        response: { 200: predictBatchResponse },
      },
    },
    async (request, reply) => {
      const r = await inference.predict(request.ctx(), {
        model: ref(request.params.id, request.body),
        rows: request.body.rows,
        endpoint: 'predict_batch',
        signal: clientGone(reply),
      });
      return {
        model: r.model,
        version: r.version,
        count: r.predictions.length,
        predictions: r.predictions,
        probabilities: r.probabilities ?? null,
      };
    },
  );
};
