import { isAbsolute, join, relative } from 'node:path';
import { InferenceSession } from 'onnxruntime-node';
import { type LoadedModel, type LoadSpec, RuntimeError, type RuntimeModule } from '../types.js';
import { type OnnxLoadConfig, parseLoadConfig, sessionOptions } from './config.js';
import { cancelled, predictRows } from './predict.js';
import { readSignature } from './signature.js';
import { Slots } from './slots.js';

/**
 * The onnx runtime: any ONNX model on onnxruntime-node's CPU provider, served through `predict`
 * (named inputs and outputs ↔ JSON; see rows.ts for the two row styles). Classifiers answer with a
 * label per row and the class probabilities; other models with every output sliced per row.
 */

function pickFile(spec: LoadSpec, config: OnnxLoadConfig): string {
  const onnxFiles = spec.files.filter((f) => f.path.toLowerCase().endsWith('.onnx'));
  if (config.file !== undefined) {
    if (!onnxFiles.some((f) => f.path === config.file)) {
      const known = onnxFiles.map((f) => f.path).join(', ') || 'none';
      throw new RuntimeError(
        'invalid_load_config',
        `Load config field "file": ${config.file} is not an .onnx file of this version (its .onnx files: ${known})`,
      );
    }
    return config.file;
  }
  const [only, ...rest] = onnxFiles;
  if (!only) throw new RuntimeError('model_file_missing', 'The version holds no .onnx file', 422);
  if (rest.length) {
    throw new RuntimeError(
      'invalid_load_config',
      `The version holds several .onnx files (${onnxFiles.map((f) => f.path).join(', ')}); set load config field "file" to pick one`,
    );
  }
  return only.path;
}

async function load(spec: LoadSpec): Promise<LoadedModel> {
  const config = parseLoadConfig(spec.config);
  const file = pickFile(spec, config);
  const path = join(spec.dir, file);
  const rel = relative(spec.dir, path);
  if (rel.startsWith('..') || isAbsolute(rel)) {
    throw new RuntimeError('invalid_load_config', `Load config field "file": ${file} is outside the version`);
  }

  let session: InferenceSession;
  try {
    // By path, so weights stored beside the graph (external data files) are found.
    session = await InferenceSession.create(path, sessionOptions(config));
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new RuntimeError('model_load_failed', `onnxruntime could not load ${file}: ${message.trim()}`, 422);
  }
  let signature: ReturnType<typeof readSignature>;
  try {
    signature = readSignature(session, spec.task, config);
  } catch (err) {
    await session.release();
    throw err;
  }

  const slots = new Slots(config.parallel);
  let state: 'open' | 'closing' | 'closed' = 'open';
  const inFlight = new Set<Promise<unknown>>();

  async function serve(rows: Record<string, unknown>[], signal: AbortSignal) {
    if (rows.length > config.max_batch) {
      throw new RuntimeError(
        'batch_too_large',
        `${rows.length} rows in one request; this model takes at most ${config.max_batch} (load config max_batch)`,
        413,
      );
    }
    if (!(await slots.acquire(signal))) throw cancelled();
    try {
      return await predictRows(session, signature, rows, signal);
    } finally {
      slots.release();
    }
  }

  return {
    capabilities: {
      generate: false,
      chat: false,
      embed: false,
      predict: true,
      beamSearch: false,
      parallel: config.parallel,
    },
    predict(rows, signal) {
      if (state !== 'open') {
        return Promise.reject(new RuntimeError('model_unloaded', 'The model is being unloaded', 409));
      }
      // Tracked from the first tick, so an unload that starts meanwhile waits for it.
      const work = serve(rows, signal);
      inFlight.add(work);
      const forget = () => inFlight.delete(work);
      work.then(forget, forget);
      return work;
    },
    async unload() {
      if (state !== 'open') return;
      state = 'closing';
      // Releasing the session under a run that is still queued would free memory the run reads.
      await Promise.allSettled([...inFlight]);
      state = 'closed';
      await session.release();
    },
  };
}

export const runtime: RuntimeModule = { load };
