/**
 * Format detection from content: a file's name says nothing reliable about what it holds, and a
 * pickle renamed to model.safetensors must still be recognised. Only the leading bytes are read.
 */
export type FileFormat = 'gguf' | 'safetensors' | 'onnx' | 'pickle' | 'unknown';

/** How many leading bytes detection looks at. */
export const SNIFF_BYTES = 64 * 1024;
/** Safetensors headers are JSON; 100 MB is far above any real one and bounds what we accept. */
const MAX_SAFETENSORS_HEADER = 100 * 1024 * 1024;
// Pickle protocols 0 and 1 have no magic number, so for these names an unrecognised content is
// treated as a pickle too: refusing a real pickle matters more than accepting an odd file.
const PICKLE_NAMES = /\.(bin|pt|pth|pkl|pickle|ckpt)$/i;
// ModelProto's first field is ir_version (tag 0x08); writers emit fields in number order, so the
// next tag is another ModelProto field.
const ONNX_NEXT_TAGS = new Set([0x12, 0x1a, 0x22, 0x28, 0x32, 0x3a, 0x42, 0x72, 0xa2, 0xca]);

function isPickle(head: Uint8Array): boolean {
  if (head[0] === 0x80 && (head[1] ?? 0) >= 2 && (head[1] ?? 0) <= 5) return true;
  // PyTorch checkpoints are zip archives holding a `data.pkl` entry.
  if (head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) {
    return Buffer.from(head).includes('.pkl', 0, 'latin1');
  }
  return false;
}

function isSafetensors(head: Uint8Array): boolean {
  if (head.length < 10) return false;
  const n = new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true);
  return n >= 2n && n <= BigInt(MAX_SAFETENSORS_HEADER) && head[8] === 0x7b;
}

function isOnnx(head: Uint8Array): boolean {
  const ir = head[1] ?? 0;
  return head[0] === 0x08 && ir >= 1 && ir <= 100 && ONNX_NEXT_TAGS.has(head[2] ?? 0);
}

export function detectFileFormat(head: Uint8Array, path: string): FileFormat {
  if (head.length >= 4 && Buffer.from(head.subarray(0, 4)).toString('latin1') === 'GGUF') return 'gguf';
  if (isPickle(head)) return 'pickle';
  if (isSafetensors(head)) return 'safetensors';
  if (isOnnx(head)) return 'onnx';
  return PICKLE_NAMES.test(path) ? 'pickle' : 'unknown';
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
