import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { pageOf } from '../../platform/http/pagination.js';
import {
  createTrainerBody,
  listTrainersQuery,
  trainerParams,
  trainerView,
  updateTrainerBody,
} from './schema.js';
import type { TrainerService } from './service.js';

/**
 * Anyone who may train lists the trainers and names one in a job; registering, changing and removing
 * one decides what runs on the workers' machines, so it takes admin:system.
 */
export const trainerRoutes: FastifyPluginAsyncZod<{ trainers: TrainerService }> = async (
  app,
  { trainers },
) => {
  const tags = ['training'];
  app.get(
    '/trainers',
    {
      config: { auth: 'training:read' },
      schema: {
        tags,
        summary: 'External trainers a job may name (command, arguments and environment shown to admins only)',
        querystring: listTrainersQuery,
        response: { 200: pageOf(trainerView) },
      },
    },
    async (request) => trainers.list(request.ctx(), request.query),
  );
  app.get(
    '/trainers/:trainer_id',
    {
      config: { auth: 'training:read' },
      schema: {
        tags,
        summary: 'One external trainer, by id or name',
        params: trainerParams,
        response: { 200: trainerView },
      },
    },
    async (request) => trainers.get(request.ctx(), request.params.trainer_id),
  );
  app.post(
    '/trainers',
    {
      config: { auth: 'admin:system' },
      schema: {
        tags,
        summary:
          'Register an external trainer: command, argument template ({dataset_path}, {params_path}, ' +
          '{output_dir}, {job_id}), environment (stored encrypted), output format, timeout',
        body: createTrainerBody,
        response: { 201: trainerView },
      },
    },
    async (request, reply) => reply.code(201).send(await trainers.create(request.ctx(), request.body)),
  );
  app.patch(
    '/trainers/:trainer_id',
    {
      config: { auth: 'admin:system' },
      schema: {
        tags,
        summary: 'Change a trainer; `env` replaces the set, a value sent back as its mask is kept',
        params: trainerParams,
        body: updateTrainerBody,
        response: { 200: trainerView },
      },
    },
    async (request) => trainers.update(request.ctx(), request.params.trainer_id, request.body),
  );
  app.delete(
    '/trainers/:trainer_id',
    {
      config: { auth: 'admin:system' },
      schema: { tags, summary: 'Remove a trainer (queued jobs that name it fail)', params: trainerParams },
    },
    async (request, reply) => {
      await trainers.remove(request.ctx(), request.params.trainer_id);
      return reply.code(204).send();
    },
  );
};
