import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import Fastify from 'fastify';
import { afterAll, expect, it } from 'vitest';
import { sendEvents } from './sse.js';

const app = Fastify();
afterAll(() => app.close());

it('closes the event source when a client that stopped reading goes away', async () => {
  let produced = 0;
  let closed = false;
  const payload = 'x'.repeat(4096);
  async function* endless() {
    try {
      for (;;) {
        produced++;
        yield { payload };
        await sleep(0);
      }
    } finally {
      closed = true;
    }
  }
  app.get('/events', (_request, reply) => sendEvents(reply, endless(), app.log));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  const req = httpRequest({ port, path: '/events' });
  req.on('error', () => undefined);
  const res = await new Promise<import('node:http').IncomingMessage>((resolve) => {
    req.on('response', resolve);
    req.end();
  });
  res.pause(); // a client that reads nothing more: the server's buffers fill and writes must wait
  let last = -1;
  for (let i = 0; i < 200 && produced !== last; i++) {
    last = produced;
    await sleep(25);
  }
  expect(closed).toBe(false);
  req.destroy();
  for (let i = 0; i < 100 && !closed; i++) await sleep(10);
  expect(closed).toBe(true);
});
