import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { clientGone } from '../../platform/http/abort.js';
import type { PredictResult } from '../runtimes/types.js';
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
        summary: 'Predict one row (input) or several (rows)',
        params: modelParams,
        body: predictBody,
        response: { 200: predictResponse },
      },
    },
    async (request, reply) => {
      const { input, rows } = request.body;
      const r = await inference.predict(request.ctx(), {
        model: ref(request.params.id, request.body),
        rows: rows ?? (input ? [input] : []),
        endpoint: rows ? 'predict_batch' : 'predict',
        signal: clientGone(reply),
      });
      if (rows) return batchAnswer(r);
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
    async (request, reply) =>
      batchAnswer(
        await inference.predict(request.ctx(), {
          model: ref(request.params.id, request.body),
          rows: request.body.rows,
          endpoint: 'predict_batch',
          signal: clientGone(reply),
        }),
      ),
  );
};

/** Many rows: probabilities as arrays in one `labels` order, as tabular clients expect. */
function batchAnswer(r: PredictResult & { model: string; version: number }) {
  const labels = r.probabilities?.[0] ? Object.keys(r.probabilities[0]) : null;
  return {
    model: r.model,
    version: r.version,
    count: r.predictions.length,
    predictions: r.predictions,
    probabilities:
      labels && r.probabilities ? r.probabilities.map((p) => labels.map((l) => p[l] ?? 0)) : null,
    labels,
  };
}
