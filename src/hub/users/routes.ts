import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { pageOf } from '../../platform/http/pagination.js';
import { createUserBody, listUsersQuery, updateUserBody, userIdParams, userView } from './schema.js';
import type { UserService } from './service.js';

export const userRoutes: FastifyPluginAsyncZod<{ users: UserService }> = async (app, { users }) => {
  const tags = ['users'];
  app.post(
    '/users',
    {
      config: { auth: 'users:write' },
      schema: { tags, summary: 'Create a user (admin)', body: createUserBody, response: { 201: userView } },
    },
    async (request, reply) => reply.code(201).send(await users.create(request.ctx(), request.body)),
  );
  app.get(
    '/users',
    {
      config: { auth: 'users:read' },
      schema: {
        tags,
        summary: 'List users (admin)',
        querystring: listUsersQuery,
        response: { 200: pageOf(userView) },
      },
    },
    async (request) => users.list(request.query),
  );
  app.get(
    '/users/:id',
    {
      config: { auth: 'profile' },
      schema: {
        tags,
        summary: 'Get a user (yourself, or anyone as admin)',
        params: userIdParams,
        response: { 200: userView },
      },
    },
    async (request) => users.get(request.ctx(), request.params.id),
  );
  app.patch(
    '/users/:id',
    {
      config: { auth: 'profile' },
      schema: {
        tags,
        summary:
          'Update a user: role and disabled (admin), password (yourself with current_password, or admin reset)',
        params: userIdParams,
        body: updateUserBody,
        response: { 200: userView },
      },
    },
    async (request) => users.update(request.ctx(), request.params.id, request.body),
  );
  app.delete(
    '/users/:id',
    {
      config: { auth: 'users:write' },
      schema: {
        tags,
        summary: 'Delete a user (admin); revokes their keys and sessions',
        params: userIdParams,
        response: { 204: z.null() },
      },
    },
    async (request, reply) => {
      await users.delete(request.ctx(), request.params.id);
      return reply.code(204).send(null);
    },
  );
};
