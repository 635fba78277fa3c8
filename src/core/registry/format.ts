import type { Readable } from 'node:stream';
import type { ArtifactStore } from '../artifacts/store.js';
import { type DetectedFormat, detectFormat, SNIFF_BYTES } from '../formats/detect.js';
import { isLegacyPickle } from '../formats/pickle.js';
import type { ByteSource } from '../formats/source.js';

export { SNIFF_BYTES };
export type FileFormat = DetectedFormat;

// Pickle protocols 0 and 1 have no magic number. Their opcodes are recognised under any name, and
// for these names an unrecognised content is treated as a pickle too: refusing a real pickle
// matters more than accepting an odd file.
const PICKLE_NAMES = /\.(bin|pt|pth|pkl|pickle|ckpt)$/i;

/**
 * The format of one file from its leading bytes (`head`: the first SNIFF_BYTES, or the whole file
 * when it is shorter); the name only ever makes it stricter.
 */
export function detectFileFormat(head: Uint8Array, path: string): FileFormat {
  const format = detectFormat(head);
  if (format !== 'unknown') return format;
  if (isLegacyPickle(head, head.length >= SNIFF_BYTES) || PICKLE_NAMES.test(path)) return 'pickle';
  return format;
}

/**
 * The format of a version from its files' formats: the weights decide, and configuration or
 * tokenizer files beside them do not. An ONNX graph with a Hugging Face config is `hf-onnx`.
 */
export function versionFormat(files: { path: string; format: FileFormat }[]): string {
  const has = (f: FileFormat) => files.some((x) => x.format === f);
  if (has('gguf')) return 'gguf';
  if (has('onnx')) return files.some((f) => /(^|\/)config\.json$/.test(f.path)) ? 'hf-onnx' : 'onnx';
  if (has('safetensors')) return 'safetensors';
  if (has('pickle')) return 'pytorch';
  return 'other';
}

async function collect(stream: Readable): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Random access to a stored blob for the format validators, one ranged read per request. */
export function blobSource(store: ArtifactStore, sha256: string, size: number): ByteSource {
  return {
    size,
    async read(offset, length) {
      const end = Math.min(size, offset + length) - 1;
      if (offset >= size || end < offset) return new Uint8Array(0);
      return collect(await store.open(sha256, { start: offset, end }));
    },
  };
}
