import { isAbsolute, relative, resolve } from 'node:path';
import type { LoadSpec } from '../types.js';
import { RuntimeError } from '../types.js';

/** The first shard of a split GGUF (`name-00001-of-00003.gguf`); llama.cpp finds the rest itself. */
const SHARD = /-(\d{5})-of-(\d{5})\.gguf$/i;

function weightFiles(spec: LoadSpec): string[] {
  return (
    spec.files
      .map((f) => f.path)
      .filter((p) => p.toLowerCase().endsWith('.gguf'))
      // Multimodal projectors ship as GGUF next to the language model but are not loadable alone.
      .filter((p) => !/(^|[/_-])mmproj/i.test(p))
      .filter((p) => {
        const shard = SHARD.exec(p);
        return !shard || Number(shard[1]) === 1;
      })
  );
}

/**
 * The absolute path of the GGUF file to load. A version normally holds one; when it holds several
 * (quantisations side by side), the load config's `file` picks one.
 */
export function resolveModelFile(spec: LoadSpec, chosen: string | undefined): string {
  const candidates = weightFiles(spec);
  let path: string | undefined;
  if (chosen !== undefined) {
    path = candidates.find((p) => p === chosen);
    if (!path) {
      throw new RuntimeError(
        'invalid_load_config',
        `invalid llama load config: file: ${chosen} is not a GGUF model file of this version (${candidates.join(', ') || 'none'})`,
        400,
      );
    }
  } else if (candidates.length === 1) {
    path = candidates[0];
  } else if (candidates.length === 0) {
    throw new RuntimeError('model_file_missing', 'this version has no .gguf model file', 422);
  } else {
    throw new RuntimeError(
      'invalid_load_config',
      `invalid llama load config: file: this version holds several GGUF files; choose one of ${candidates.join(', ')}`,
      400,
    );
  }
  const absolute = resolve(spec.dir, path!);
  const inside = relative(resolve(spec.dir), absolute);
  if (inside.startsWith('..') || isAbsolute(inside)) {
    throw new RuntimeError('model_file_missing', `model file path ${path} leaves the version directory`, 422);
  }
  return absolute;
}
