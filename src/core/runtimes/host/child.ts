/**
 * Entry point of a model's host process: loads one version with one runtime module and serves the
 * node's requests over IPC until told to unload or until the node goes away. Keeping each model in
 * its own process means a runtime that crashes or leaks takes only that model down.
 */
import { type LoadedModel, RuntimeError, type RuntimeModule } from '../types.js';
import type { FromHost, ToHost, WireError } from './protocol.js';

const send = (msg: FromHost) => {
  process.send?.(msg);
};

const toWire = (err: unknown): WireError =>
  err instanceof RuntimeError
    ? { code: err.code, message: err.message, status: err.status, unexpected: false }
    : {
        code: 'runtime_failed',
        message: err instanceof Error ? err.message : String(err),
        status: 500,
        unexpected: true,
      };

let model: LoadedModel | null = null;
const running = new Map<number, AbortController>();

function missing(what: string): never {
  throw new RuntimeError('capability_missing', `this model does not support ${what}`, 400);
}

async function serve(msg: Exclude<ToHost, { type: 'load' | 'cancel' | 'unload' }>) {
  const ac = new AbortController();
  running.set(msg.id, ac);
  try {
    if (!model) throw new RuntimeError('model_not_loaded', 'the model is not loaded', 409);
    switch (msg.type) {
      case 'generate': {
        if (!model.generate) missing('text generation');
        for await (const event of model.generate(msg.req, ac.signal))
          send({ type: 'event', id: msg.id, event });
        send({ type: 'end', id: msg.id });
        return;
      }
      case 'embed':
        if (!model.embed) missing('embeddings');
        send({ type: 'result', id: msg.id, result: await model.embed(msg.inputs, ac.signal) });
        return;
      case 'predict':
        if (!model.predict) missing('predict');
        send({ type: 'result', id: msg.id, result: await model.predict(msg.rows, ac.signal) });
        return;
      case 'memory':
        send({ type: 'result', id: msg.id, result: { rss: process.memoryUsage.rss() } });
        return;
    }
  } catch (err) {
    send({ type: 'error', id: msg.id, error: toWire(err) });
  } finally {
    running.delete(msg.id);
  }
}

async function load(msg: Extract<ToHost, { type: 'load' }>) {
  try {
    const mod = (await import(msg.module)) as { runtime?: RuntimeModule };
    if (!mod.runtime) throw new Error(`${msg.module} exports no runtime`);
    model = await mod.runtime.load(msg.spec);
    send({ type: 'loaded', capabilities: model.capabilities, rss: process.memoryUsage.rss() });
  } catch (err) {
    send({ type: 'load_error', error: toWire(err) });
  }
}

async function unload() {
  for (const ac of running.values()) ac.abort();
  try {
    await model?.unload();
  } finally {
    model = null;
    send({ type: 'unloaded' });
    process.disconnect?.();
  }
}

process.on('message', (msg: ToHost) => {
  switch (msg.type) {
    case 'load':
      void load(msg);
      return;
    case 'cancel':
      running.get(msg.id)?.abort();
      return;
    case 'unload':
      void unload();
      return;
    default:
      void serve(msg);
  }
});
// The node is gone (or told us to go): nothing left to serve.
process.on('disconnect', () => process.exit(0));
