import { Tensor } from 'onnxruntime-node';
import { RuntimeError } from '../types.js';

/** Element types this runtime reads from JSON and writes back to JSON. */
export const INPUT_TYPES = [
  'float32',
  'float64',
  'int8',
  'uint8',
  'int16',
  'uint16',
  'int32',
  'uint32',
  'int64',
  'uint64',
  'bool',
  'string',
] as const;
export type InputType = (typeof INPUT_TYPES)[number];

/** Outputs may also be float16 (decoded here, since Node 20 has no Float16Array). */
export const OUTPUT_TYPES: readonly string[] = [...INPUT_TYPES, 'float16'];

export type Dim = number | string;

export const formatShape = (dims: readonly Dim[]) => `[${dims.join(', ')}]`;

const INT_RANGES: Partial<Record<InputType, [number, number]>> = {
  int8: [-128, 127],
  uint8: [0, 255],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  uint64: [0, Number.MAX_SAFE_INTEGER],
};

/** The shape a nested array claims, following first elements; raggedness is caught on write. */
export function shapeOf(value: unknown): number[] {
  const shape: number[] = [];
  let v = value;
  while (Array.isArray(v)) {
    shape.push(v.length);
    if (v.length === 0) break;
    v = v[0];
  }
  return shape;
}

/** Whether a value of this shape fits the expected per-row dims (symbolic dims take any size). */
export function fitsShape(shape: readonly number[], expected: readonly Dim[]): boolean {
  if (shape.length !== expected.length) return false;
  return expected.every((d, i) => typeof d === 'string' || d === shape[i]);
}

type Store =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  | string[];

function allocate(type: InputType, size: number): Store {
  switch (type) {
    case 'float32':
      return new Float32Array(size);
    case 'float64':
      return new Float64Array(size);
    case 'int8':
      return new Int8Array(size);
    case 'uint8':
      return new Uint8Array(size);
    case 'int16':
      return new Int16Array(size);
    case 'uint16':
      return new Uint16Array(size);
    case 'int32':
      return new Int32Array(size);
    case 'uint32':
      return new Uint32Array(size);
    case 'int64':
      return new BigInt64Array(size);
    case 'uint64':
      return new BigUint64Array(size);
    case 'bool':
      return new Uint8Array(size);
    case 'string':
      return new Array<string>(size).fill('');
  }
}

/** Converts one JSON leaf to the element type, or returns undefined when it does not fit. */
function convertLeaf(type: InputType, v: unknown): number | bigint | string | undefined {
  if (type === 'float32' || type === 'float64') {
    return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
  }
  if (type === 'string') return typeof v === 'string' ? v : undefined;
  if (type === 'bool') return typeof v === 'boolean' ? (v ? 1 : 0) : undefined;
  const [min, max] = INT_RANGES[type] as [number, number];
  if (typeof v === 'bigint') v = v >= BigInt(min) && v <= BigInt(max) ? Number(v) : undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) return undefined;
  return type === 'int64' || type === 'uint64' ? BigInt(v) : v;
}

export interface RowValue {
  row: number;
  value: unknown;
}

/**
 * Packs the values of several rows (all of the same shape) for one input into a tensor with
 * `dims`. A leaf of the wrong kind, or a ragged array, is an invalid_input naming the input.
 */
export function packTensor(
  input: { name: string; type: InputType; expected: string },
  values: RowValue[],
  rowShape: readonly number[],
  dims: readonly number[],
): Tensor {
  const perRow = rowShape.reduce((a, b) => a * b, 1);
  const store = allocate(input.type, perRow * values.length);
  const target = store as unknown as (number | bigint | string)[];
  for (let r = 0; r < values.length; r++) {
    const { row, value } = values[r] as RowValue;
    const problem = write(input.type, value, rowShape, 0, target, r * perRow);
    if (problem !== undefined) {
      throw new RuntimeError(
        'invalid_input',
        `Row ${row}: input "${input.name}" ${problem}; expected ${input.expected}`,
        400,
      );
    }
  }
  return new Tensor(input.type, store as never, dims);
}

const RAGGED = 'is a ragged nested array';

/**
 * Writes `value` (nested to `shape` from `depth` on) into `target` at `offset`, row-major; returns
 * what is wrong with it, if anything. Plain loops: this runs once per element of every request.
 */
function write(
  type: InputType,
  value: unknown,
  shape: readonly number[],
  depth: number,
  target: (number | bigint | string)[],
  offset: number,
): string | undefined {
  if (depth === shape.length) {
    const leaf = Array.isArray(value) ? undefined : convertLeaf(type, value);
    if (leaf === undefined)
      return Array.isArray(value) ? RAGGED : `holds ${describeLeaf(value)}, not a ${type} value`;
    target[offset] = leaf;
    return undefined;
  }
  const size = shape[depth] as number;
  if (!Array.isArray(value) || value.length !== size) return RAGGED;
  if (depth === shape.length - 1) {
    for (let i = 0; i < size; i++) {
      const item: unknown = value[i];
      const leaf = Array.isArray(item) ? undefined : convertLeaf(type, item);
      if (leaf === undefined)
        return Array.isArray(item) ? RAGGED : `holds ${describeLeaf(item)}, not a ${type} value`;
      target[offset + i] = leaf;
    }
    return undefined;
  }
  const stride = shape.slice(depth + 1).reduce((a, b) => a * b, 1);
  for (let i = 0; i < size; i++) {
    const problem = write(type, value[i], shape, depth + 1, target, offset + i * stride);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

function describeLeaf(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'number') return Number.isInteger(v) ? `the number ${v}` : `the non-integer ${v}`;
  if (typeof v === 'string') return 'a string';
  return `a ${typeof v}`;
}

function decodeFloat16(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 0x1f) return frac ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

export type Leaf = number | boolean | string;

/** A tensor's elements as JSON values; an int64 beyond 2^53 is refused rather than rounded. */
export function tensorValues(name: string, tensor: Tensor): Leaf[] {
  const data = tensor.data as ArrayLike<unknown>;
  switch (tensor.type) {
    case 'string':
      return Array.from(data as string[]);
    case 'bool':
      return Array.from(data as Uint8Array, (v) => v !== 0);
    case 'float16':
      return data instanceof Uint16Array ? Array.from(data, decodeFloat16) : Array.from(data as number[]);
    case 'int64':
    case 'uint64':
      return Array.from(data as BigInt64Array, (v) => {
        if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
          throw new RuntimeError(
            'unsafe_integer_output',
            `Output "${name}" holds ${v}, beyond the integers JSON numbers represent exactly (±2^53)`,
            422,
          );
        }
        return Number(v);
      });
    default:
      return Array.from(data as Float32Array);
  }
}

/** Rebuilds nested arrays of `dims` from flat values starting at `offset` (a scalar for no dims). */
export function nest(values: readonly Leaf[], offset: number, dims: readonly number[]): unknown {
  if (dims.length === 0) return values[offset];
  const head = dims[0] as number;
  if (dims.length === 1) return values.slice(offset, offset + head);
  const rest = dims.slice(1);
  const stride = rest.reduce((a, b) => a * b, 1);
  const out = new Array<unknown>(head);
  for (let i = 0; i < head; i++) out[i] = nest(values, offset + i * stride, rest);
  return out;
}
