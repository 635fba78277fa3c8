import { Cursor } from './cursor.js';
import type { ByteSource } from './source.js';

/**
 * Defensive GGUF (v2/v3) header validation. Everything llama.cpp trusts blindly is checked against
 * the file: counts, string lengths, value types, tensor shapes, types and data ranges. Reads stop
 * at MAX_HEADER_BYTES, so a hostile file costs bounded time and memory whatever its size.
 */
export const MAX_HEADER_BYTES = 256 * 1024 * 1024;
export const MAX_TENSORS = 1_000_000;
export const MAX_KV = 1_000_000;
const MAX_DIMS = 4; // GGML_MAX_DIMS
const MAX_NAME_BYTES = 64; // GGML_MAX_NAME
const MAX_KEY_BYTES = 65_535;
const MAX_ARRAY_DEPTH = 2;
const KEEP_STRING_BYTES = 64 * 1024;
const KEEP_ARRAY_ITEMS = 16;

export type GgufScalar = number | bigint | boolean | string;
export type GgufValue =
  | GgufScalar
  | GgufScalar[]
  | { type: 'string'; length: number }
  | { type: 'array'; itemType: string; length: number };

export interface GgufTensor {
  name: string;
  shape: number[];
  type: string;
  /** Relative to the data section. */
  offset: number;
  size: number;
}

export interface GgufInfo {
  format: 'gguf';
  version: number;
  alignment: number;
  /** Absolute offset where tensor data starts. */
  dataOffset: number;
  architecture: string | undefined;
  metadata: Record<string, GgufValue>;
  tensors: GgufTensor[];
  parameterCount: number;
}

// value type id → [name, byte size, reader]
const SCALARS: Record<number, [string, number, (v: DataView, at: number) => GgufScalar]> = {
  0: ['u8', 1, (v, at) => v.getUint8(at)],
  1: ['i8', 1, (v, at) => v.getInt8(at)],
  2: ['u16', 2, (v, at) => v.getUint16(at, true)],
  3: ['i16', 2, (v, at) => v.getInt16(at, true)],
  4: ['u32', 4, (v, at) => v.getUint32(at, true)],
  5: ['i32', 4, (v, at) => v.getInt32(at, true)],
  6: ['f32', 4, (v, at) => v.getFloat32(at, true)],
  7: ['bool', 1, (v, at) => v.getUint8(at) !== 0],
  10: ['u64', 8, (v, at) => v.getBigUint64(at, true)],
  11: ['i64', 8, (v, at) => v.getBigInt64(at, true)],
  12: ['f64', 8, (v, at) => v.getFloat64(at, true)],
};
const STRING = 8;
const ARRAY = 9;
const typeName = (t: number) =>
  t === STRING ? 'string' : t === ARRAY ? 'array' : (SCALARS[t]?.[0] ?? `${t}`);

// ggml_type id → [name, elements per block, bytes per block]; ids 4, 5 and 31–33 were removed upstream.
const GGML_TYPES: Record<number, [string, number, number]> = {
  0: ['F32', 1, 4],
  1: ['F16', 1, 2],
  2: ['Q4_0', 32, 18],
  3: ['Q4_1', 32, 20],
  6: ['Q5_0', 32, 22],
  7: ['Q5_1', 32, 24],
  8: ['Q8_0', 32, 34],
  9: ['Q8_1', 32, 36],
  10: ['Q2_K', 256, 84],
  11: ['Q3_K', 256, 110],
  12: ['Q4_K', 256, 144],
  13: ['Q5_K', 256, 176],
  14: ['Q6_K', 256, 210],
  15: ['Q8_K', 256, 292],
  16: ['IQ2_XXS', 256, 66],
  17: ['IQ2_XS', 256, 74],
  18: ['IQ3_XXS', 256, 98],
  19: ['IQ1_S', 256, 50],
  20: ['IQ4_NL', 32, 18],
  21: ['IQ3_S', 256, 110],
  22: ['IQ2_S', 256, 82],
  23: ['IQ4_XS', 256, 136],
  24: ['I8', 1, 1],
  25: ['I16', 1, 2],
  26: ['I32', 1, 4],
  27: ['I64', 1, 8],
  28: ['F64', 1, 8],
  29: ['IQ1_M', 256, 56],
  30: ['BF16', 1, 2],
  34: ['TQ1_0', 256, 54],
  35: ['TQ2_0', 256, 66],
  39: ['MXFP4', 32, 17],
};

const utf8 = new TextDecoder('utf-8', { fatal: true });

async function readString(c: Cursor, what: string, maxBytes: number): Promise<string> {
  const n = await c.count(`${what} length`, maxBytes);
  try {
    return utf8.decode(await c.bytes(n, what));
  } catch (err) {
    if (err instanceof TypeError) c.fail(`${what} at byte ${c.pos - n} is not valid UTF-8`);
    throw err;
  }
}

async function readValue(c: Cursor, type: number, key: string, depth: number): Promise<GgufValue> {
  const scalar = SCALARS[type];
  if (scalar) return await c.scalar(scalar[1], scalar[2], key);
  if (type === STRING) {
    const n = await c.count(`string length of '${key}'`, c.remaining);
    if (n > KEEP_STRING_BYTES) {
      c.skip(n, `string '${key}'`);
      return { type: 'string', length: n };
    }
    return new TextDecoder().decode(await c.bytes(n, `string '${key}'`));
  }
  if (type !== ARRAY) c.fail(`metadata '${key}' has unknown value type ${type}`);
  if (depth >= MAX_ARRAY_DEPTH) c.fail(`metadata '${key}' nests arrays too deeply`);
  const itemType = await c.u32(`array type of '${key}'`);
  if (!SCALARS[itemType] && itemType !== STRING && itemType !== ARRAY) {
    c.fail(`array '${key}' has unknown item type ${itemType}`);
  }
  // Each item takes at least one byte (8 for a string's length), so this bounds the loop by the file.
  const minItem = SCALARS[itemType]?.[1] ?? (itemType === STRING ? 8 : 12);
  const length = await c.count(`array length of '${key}'`, Math.floor(c.remaining / minItem));
  const fixed = SCALARS[itemType];
  if (fixed && length > KEEP_ARRAY_ITEMS) {
    c.skip(length * fixed[1], `array '${key}'`);
    return { type: 'array', itemType: fixed[0], length };
  }
  const items: GgufScalar[] = [];
  for (let i = 0; i < length; i++) {
    const v = await readValue(c, itemType, key, depth + 1);
    if (length <= KEEP_ARRAY_ITEMS && (typeof v !== 'object' || v === null)) items.push(v);
  }
  if (items.length === length && itemType !== ARRAY) return items;
  return { type: 'array', itemType: typeName(itemType), length };
}

export async function validateGguf(source: ByteSource): Promise<GgufInfo> {
  // Typed explicitly so that `c.fail(...)` (never) narrows types after it.
  const c: Cursor = new Cursor(source, 'gguf', MAX_HEADER_BYTES);
  const magic = await c.bytes(4, 'magic');
  if (Buffer.from(magic).toString('latin1') !== 'GGUF') c.fail('the file does not start with "GGUF"');
  const version = await c.u32('version');
  if (version !== 2 && version !== 3) {
    c.fail(`version ${version} is not supported (2 or 3; big-endian files are not supported)`);
  }
  const tensorCount = await c.count('tensor count', MAX_TENSORS);
  const kvCount = await c.count('metadata count', MAX_KV);

  const metadata: Record<string, GgufValue> = Object.create(null);
  const types = new Map<string, number>();
  for (let i = 0; i < kvCount; i++) {
    const key = await readString(c, `metadata key #${i}`, MAX_KEY_BYTES);
    if (types.has(key)) c.fail(`metadata key '${key}' appears twice`);
    const type = await c.u32(`value type of '${key}'`);
    types.set(key, type);
    metadata[key] = await readValue(c, type, key, 0);
  }

  const architecture = metadata['general.architecture'];
  if (architecture !== undefined && typeof architecture !== 'string') {
    c.fail('general.architecture is not a string');
  }
  let alignment = 32;
  if ('general.alignment' in metadata) {
    const a = metadata['general.alignment'];
    if (types.get('general.alignment') !== 4 || typeof a !== 'number' || a === 0 || (a & (a - 1)) !== 0) {
      c.fail('general.alignment must be a u32 power of two');
    }
    alignment = a;
  }

  const tensors: GgufTensor[] = [];
  const names = new Set<string>();
  let parameterCount = 0;
  for (let i = 0; i < tensorCount; i++) {
    const name = await readString(c, `tensor name #${i}`, MAX_NAME_BYTES);
    if (names.has(name)) c.fail(`tensor '${name}' appears twice`);
    names.add(name);
    const nDims = await c.u32(`dimension count of '${name}'`);
    if (nDims < 1 || nDims > MAX_DIMS) c.fail(`tensor '${name}' has ${nDims} dimensions (1 to ${MAX_DIMS})`);
    const shape: number[] = [];
    let elements = 1n;
    for (let d = 0; d < nDims; d++) {
      const dim = await c.u64(`dimension of '${name}'`);
      elements *= dim;
      if (elements > BigInt(Number.MAX_SAFE_INTEGER)) c.fail(`tensor '${name}' has too many elements`);
      shape.push(Number(dim));
    }
    const typeId = await c.u32(`type of '${name}'`);
    const ggml = GGML_TYPES[typeId];
    if (!ggml) c.fail(`tensor '${name}' has unknown type ${typeId}`);
    const [typeNameStr, block, blockBytes] = ggml;
    if ((shape[0] ?? 0) % block !== 0) {
      c.fail(
        `tensor '${name}': first dimension ${shape[0]} is not a multiple of ${typeNameStr}'s block of ${block}`,
      );
    }
    const size = (Number(elements) / block) * blockBytes;
    const offset = await c.u64(`data offset of '${name}'`);
    if (offset > BigInt(Number.MAX_SAFE_INTEGER)) c.fail(`tensor '${name}' has an offset beyond any file`);
    if (Number(offset) % alignment !== 0)
      c.fail(`tensor '${name}' data is not aligned to ${alignment} bytes`);
    tensors.push({ name, shape, type: typeNameStr, offset: Number(offset), size });
    parameterCount += Number(elements);
  }

  const dataOffset = Math.ceil(c.pos / alignment) * alignment;
  const dataSize = source.size - dataOffset;
  const byOffset = [...tensors].sort((a, b) => a.offset - b.offset);
  let end = 0;
  for (const t of byOffset) {
    if (t.offset + t.size > dataSize) {
      c.fail(`tensor '${t.name}' data (${t.size} bytes at ${t.offset}) runs past the end of the file`);
    }
    if (t.offset < end) c.fail(`tensor '${t.name}' data overlaps another tensor`);
    end = t.offset + t.size;
  }
  return {
    format: 'gguf',
    version,
    alignment,
    dataOffset,
    architecture: architecture as string | undefined,
    metadata,
    tensors,
    parameterCount,
  };
}
