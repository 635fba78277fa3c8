import { invalidModelFile } from './errors.js';
import type { ByteSource } from './source.js';

/**
 * Defensive safetensors validation, with the same rules as the reference loader: a bounded JSON
 * header, known dtypes, shapes whose byte size matches their data range, and data ranges that
 * tile the data section exactly (no overlap, no gap, nothing past the end).
 */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;

// dtype → bits per element (F4/F6 pack several elements per byte).
const DTYPE_BITS: Record<string, number> = {
  BOOL: 8,
  U8: 8,
  I8: 8,
  F8_E5M2: 8,
  F8_E4M3: 8,
  F8_E8M0: 8,
  F4: 4,
  F6_E2M3: 6,
  F6_E3M2: 6,
  I16: 16,
  U16: 16,
  F16: 16,
  BF16: 16,
  I32: 32,
  U32: 32,
  F32: 32,
  I64: 64,
  U64: 64,
  F64: 64,
  C64: 64,
};

export interface SafetensorsTensor {
  name: string;
  dtype: string;
  shape: number[];
  /** [begin, end) relative to the data section. */
  dataOffsets: [number, number];
}

export interface SafetensorsInfo {
  format: 'safetensors';
  headerLength: number;
  /** Absolute offset where the data section starts. */
  dataOffset: number;
  metadata: Record<string, string>;
  tensors: SafetensorsTensor[];
  parameterCount: number;
}

const fail = (detail: string): never => {
  throw invalidModelFile('safetensors', detail);
};

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function parseTensor(name: string, entry: unknown, dataSize: number): SafetensorsTensor {
  if (!isRecord(entry)) return fail(`tensor '${name}' is not an object`);
  const { dtype, shape, data_offsets: offsets } = entry;
  if (typeof dtype !== 'string' || !(dtype in DTYPE_BITS))
    return fail(`tensor '${name}' has unknown dtype ${JSON.stringify(dtype)}`);
  if (!Array.isArray(shape) || shape.length > 16 || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    return fail(`tensor '${name}' has an invalid shape`);
  }
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) ||
    offsets[0] > offsets[1]
  ) {
    return fail(`tensor '${name}' has invalid data_offsets`);
  }
  const [begin, end] = offsets as [number, number];
  if (end > dataSize) fail(`tensor '${name}' data [${begin}, ${end}) runs past the end of the file`);
  let elements = 1n;
  for (const d of shape as number[]) elements *= BigInt(d);
  const bits = elements * BigInt(DTYPE_BITS[dtype] ?? 0);
  if (bits % 8n !== 0n || bits / 8n !== BigInt(end - begin)) {
    fail(`tensor '${name}': shape [${shape.join(', ')}] of ${dtype} does not fill ${end - begin} bytes`);
  }
  return { name, dtype, shape: shape as number[], dataOffsets: [begin, end] };
}

export async function validateSafetensors(source: ByteSource): Promise<SafetensorsInfo> {
  if (source.size < 8) fail('the file is shorter than its 8-byte header length');
  const lenBytes = await source.read(0, 8);
  const n = new DataView(lenBytes.buffer, lenBytes.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES))
    fail(`the header length ${n} exceeds the limit of ${MAX_HEADER_BYTES} bytes`);
  const headerLength = Number(n);
  if (8 + headerLength > source.size) fail(`the header length ${headerLength} runs past the end of the file`);
  const raw = await source.read(8, headerLength);
  if (raw[0] !== 0x7b) fail('the header does not start with "{"');
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw));
  } catch {
    fail('the header is not valid UTF-8 JSON');
  }
  if (!isRecord(header)) return fail('the header is not a JSON object');
  const dataOffset = 8 + headerLength;
  const dataSize = source.size - dataOffset;
  let metadata: Record<string, string> = {};
  const tensors: SafetensorsTensor[] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (!isRecord(entry) || !Object.values(entry).every((v) => typeof v === 'string')) {
        fail('__metadata__ must map names to strings');
      }
      metadata = entry as Record<string, string>;
      continue;
    }
    tensors.push(parseTensor(name, entry, dataSize));
  }
  const ordered = [...tensors].sort(
    (a, b) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1],
  );
  let cursor = 0;
  for (const t of ordered) {
    if (t.dataOffsets[0] < cursor) fail(`tensor '${t.name}' data overlaps another tensor`);
    if (t.dataOffsets[0] > cursor) fail(`there is a gap in the data section before tensor '${t.name}'`);
    cursor = t.dataOffsets[1];
  }
  if (cursor !== dataSize) fail(`the data section holds ${dataSize} bytes but the tensors cover ${cursor}`);
  const parameterCount = tensors.reduce((sum, t) => sum + t.shape.reduce((p, d) => p * d, 1), 0);
  return { format: 'safetensors', headerLength, dataOffset, metadata, tensors, parameterCount };
}
