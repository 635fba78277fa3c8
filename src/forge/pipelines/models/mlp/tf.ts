/**
 * TensorFlow.js on its WebAssembly backend, loaded on first use and only by a fit: the server process
 * sets V8 wasm flags for PGlite and must never load it (training runs in a child process), and
 * serving does not need it (forward passes are plain TypeScript, see forward.ts).
 */
import { createRequire } from 'node:module';
import { dirname, sep } from 'node:path';

export type Tf = typeof import('@tensorflow/tfjs-core');

let loading: Promise<Tf> | undefined;

export function loadTf(): Promise<Tf> {
  loading ??= load().catch((e: unknown) => {
    loading = undefined;
    throw e;
  });
  return loading;
}

async function load(): Promise<Tf> {
  // Emscripten's glue installs process-wide handlers that rethrow any unhandled rejection; they are
  // removed again below so loading a backend does not change how the host process fails.
  const before = {
    uncaughtException: process.listeners('uncaughtException'),
    unhandledRejection: process.listeners('unhandledRejection'),
  };
  const tf = await import('@tensorflow/tfjs-core');
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  // The .wasm binaries ship inside the npm package, next to its entry point: no download.
  const dir = dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'));
  wasm.setWasmPaths(`${dir}${sep}`);
  // One thread: results do not depend on scheduling, and the trainer already owns a core.
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  tf.enableProdMode();
  try {
    if (!(await tf.setBackend('wasm'))) throw new Error('the TensorFlow.js wasm backend did not start');
    await tf.ready();
  } finally {
    for (const l of process.listeners('uncaughtException'))
      if (!before.uncaughtException.includes(l)) process.removeListener('uncaughtException', l);
    for (const l of process.listeners('unhandledRejection'))
      if (!before.unhandledRejection.includes(l)) process.removeListener('unhandledRejection', l);
  }
  return tf;
}
