import { invalidModelFile, type ModelFormat } from './errors.js';
import { type GgufInfo, validateGguf } from './gguf.js';
import { type OnnxInfo, validateOnnx } from './onnx.js';
import {
  MAX_HEADER_BYTES as MAX_SAFETENSORS_HEADER,
  type SafetensorsInfo,
  validateSafetensors,
} from './safetensors.js';
import { type ByteSource, withFileSource } from './source.js';

/**
 * Format detection from content only: a file's name says nothing about what it holds, and a
 * pickle renamed to model.safetensors must still be recognised as a pickle.
 */
export type DetectedFormat = ModelFormat | 'unknown';

/** How many leading bytes detection looks at. */
export const SNIFF_BYTES = 64 * 1024;

const ascii = (b: Uint8Array, from: number, to: number) =>
  Buffer.from(b.subarray(from, to)).toString('latin1');

/** Pickle protocol 2+ starts with PROTO; PyTorch zip checkpoints hold a `data.pkl` entry. */
export function isPickle(head: Uint8Array): boolean {
  if (head[0] === 0x80 && (head[1] ?? 0) >= 2 && (head[1] ?? 0) <= 5) return true;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  // Walk the zip's local file headers that fit in the sniffed bytes.
  for (let at = 0, n = 0; at + 30 <= head.length && n < 64; n++) {
    if (view.getUint32(at, true) !== 0x04034b50) break;
    const compressed = view.getUint32(at + 18, true);
    const nameLength = view.getUint16(at + 26, true);
    const extraLength = view.getUint16(at + 28, true);
    const name = ascii(head, at + 30, Math.min(head.length, at + 30 + nameLength));
    if (/(^|\/)[^/]*\.pkl$/.test(name)) return true;
    // A size of zero with a trailing data descriptor leaves the next header's position unknown.
    if (compressed === 0 && (view.getUint16(at + 6, true) & 0x08) !== 0) break;
    at += 30 + nameLength + extraLength + compressed;
  }
  return false;
}

// ModelProto's first tag is ir_version (field 1, varint); writers emit fields in number order, so
// the next tag is another ModelProto field.
const ONNX_NEXT_TAGS = new Set([0x12, 0x1a, 0x22, 0x28, 0x32, 0x3a, 0x42, 0x72, 0xa2, 0xca]);

function isOnnx(head: Uint8Array): boolean {
  if (head[0] !== 0x08) return false;
  const ir = head[1] ?? 0;
  return ir >= 1 && ir <= 100 && ONNX_NEXT_TAGS.has(head[2] ?? 0);
}

function isSafetensors(head: Uint8Array): boolean {
  if (head.length < 10) return false;
  const n = new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true);
  return n >= 2n && n <= BigInt(MAX_SAFETENSORS_HEADER) && head[8] === 0x7b;
}

export function detectFormat(head: Uint8Array): DetectedFormat {
  if (head.length >= 4 && ascii(head, 0, 4) === 'GGUF') return 'gguf';
  if (isPickle(head)) return 'pickle';
  if (isSafetensors(head)) return 'safetensors';
  if (isOnnx(head)) return 'onnx';
  return 'unknown';
}

export type ModelFileInfo =
  | GgufInfo
  | SafetensorsInfo
  | OnnxInfo
  | { format: 'pickle' }
  | { format: 'unknown' };

/**
 * Detects the format and validates the file. Pickles are reported, not opened; a caller decides
 * whether to store them (never to load them). Invalid files throw `invalid_model_file` (422).
 */
export async function inspectModel(source: ByteSource): Promise<ModelFileInfo> {
  const format = detectFormat(await source.read(0, SNIFF_BYTES));
  switch (format) {
    case 'gguf':
      return validateGguf(source);
    case 'safetensors':
      return validateSafetensors(source);
    case 'onnx':
      return validateOnnx(source);
    default:
      return { format };
  }
}

export const inspectModelFile = (path: string) => withFileSource(path, inspectModel);

/** Validates a file that must be of `expected` format (e.g. one the user declared). */
export async function expectFormat(source: ByteSource, expected: ModelFormat): Promise<ModelFileInfo> {
  const info = await inspectModel(source);
  if (info.format !== expected) {
    throw invalidModelFile(
      expected,
      `the content is ${info.format === 'unknown' ? 'not a known model format' : info.format}`,
    );
  }
  return info;
}
