import { expect } from 'vitest';
import type { TestApp, TestUser } from './app.js';
import { multipart } from './multipart.js';

/** The scripted runtime (test/fixtures/runtimes/scripted.ts) serves versions of format `other`. */
export const SCRIPTED_RUNTIME = {
  name: 'scripted',
  formats: ['other'],
  module: new URL('../fixtures/runtimes/scripted.ts', import.meta.url).href,
};

let n = 0;

/** Registers a model and uploads one version of it; answers the model's id and name. */
export async function modelWithVersion(
  t: TestApp,
  owner: TestUser,
  opts: {
    task?: string;
    visibility?: 'internal' | 'private';
    files?: { file: string; data: Uint8Array }[];
  } = {},
) {
  const name = `m-${++n}-${Math.random().toString(36).slice(2, 6)}`;
  const created = await t.as(owner.token, {
    method: 'POST',
    url: '/api/v1/models',
    payload: { name, task: opts.task ?? 'chat', visibility: opts.visibility ?? 'internal' },
  });
  expect(created.statusCode, created.body).toBe(201);
  const id = created.json().id as string;
  await addVersion(t, owner, id, opts.files);
  return { id, name };
}

export async function addVersion(
  t: TestApp,
  owner: TestUser,
  id: string,
  files: { file: string; data: Uint8Array }[] = [
    { file: 'weights.txt', data: Buffer.from(`scripted ${Math.random()}`) },
  ],
) {
  const up = await t.as(owner.token, {
    method: 'POST',
    url: `/api/v1/models/${id}/versions`,
    ...multipart(files),
  });
  expect(up.statusCode, up.body).toBe(201);
  return up.json().version as number;
}
