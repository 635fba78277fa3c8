import onnxProto, { type onnx as OnnxTypes } from 'onnx-proto';
import { Cursor } from './cursor.js';
import type { ByteSource } from './source.js';

const { onnx } = onnxProto;

/**
 * ONNX validation in two steps. First the top level of the ModelProto is walked on the wire
 * (tags and lengths only, any file size): every field must be well formed and inside the file, and
 * a graph must be present. Then a file up to MAX_DECODE_BYTES is decoded in full, which proves the
 * graph parses and yields its inputs, outputs and operators; larger files keep the wire-level check,
 * so their weights are never loaded into memory here.
 */
export const MAX_DECODE_BYTES = 256 * 1024 * 1024;
const MAX_FIELDS = 100_000;

export interface OnnxValueInfo {
  name: string;
  elemType: number | undefined;
  /** Numbers for fixed dimensions, names for symbolic ones. */
  shape: (number | string)[] | undefined;
}

export interface OnnxInfo {
  format: 'onnx';
  irVersion: number;
  producerName: string | undefined;
  opsets: { domain: string; version: number }[];
  /** Absent for files too large to decode here. */
  graph:
    | {
        name: string;
        inputs: OnnxValueInfo[];
        outputs: OnnxValueInfo[];
        nodeCount: number;
        opTypes: string[];
        initializerCount: number;
      }
    | undefined;
}

async function varint(c: Cursor, what: string): Promise<bigint> {
  let value = 0n;
  for (let shift = 0n; shift < 70n; shift += 7n) {
    const b = await c.u8(what);
    value |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return value;
  }
  return c.fail(`${what} at byte ${c.pos} is not a valid varint`);
}

const num = (v: unknown) => (v === null || v === undefined ? 0 : Number(String(v)));

async function scanTopLevel(source: ByteSource) {
  const c: Cursor = new Cursor(source, 'onnx');
  let irVersion: number | undefined;
  let graphs = 0;
  let opsets = 0;
  for (let i = 0; c.remaining > 0; i++) {
    if (i >= MAX_FIELDS) c.fail('too many top-level fields');
    const tag = await varint(c, 'field tag');
    const field = Number(tag >> 3n);
    const wire = Number(tag & 7n);
    if (field === 0) c.fail(`field number 0 at byte ${c.pos}`);
    if (wire === 0) {
      const v = await varint(c, `field ${field}`);
      if (field === 1) irVersion = Number(BigInt.asUintN(32, v));
    } else if (wire === 1) c.skip(8, `field ${field}`);
    else if (wire === 5) c.skip(4, `field ${field}`);
    else if (wire === 2) {
      const len = await varint(c, `length of field ${field}`);
      if (len > BigInt(c.remaining)) c.fail(`field ${field} (${len} bytes) runs past the end of the file`);
      c.skip(Number(len), `field ${field}`);
      if (field === 7) graphs++;
      if (field === 8) opsets++;
    } else c.fail(`field ${field} has unsupported wire type ${wire}`);
  }
  if (irVersion === undefined || irVersion < 1 || irVersion > 100) {
    c.fail(`ir_version ${irVersion ?? 'is missing'}${irVersion === undefined ? '' : ' is not plausible'}`);
  }
  if (graphs !== 1) c.fail(graphs === 0 ? 'the model has no graph' : 'the model has several graphs');
  // IR version 3 and later must declare the operator sets the graph uses.
  if (irVersion >= 3 && opsets === 0) c.fail('the model declares no opset_import');
  return { irVersion, fail: (d: string) => c.fail(d) };
}

function valueInfo(v: OnnxTypes.IValueInfoProto): OnnxValueInfo {
  const tensor = v.type?.tensorType;
  return {
    name: v.name ?? '',
    elemType: tensor?.elemType ?? undefined,
    shape: tensor?.shape?.dim?.map((d) => (d.dimParam ? d.dimParam : num(d.dimValue))),
  };
}

export async function validateOnnx(
  source: ByteSource,
  opts: { maxDecodeBytes?: number } = {},
): Promise<OnnxInfo> {
  const { irVersion, fail } = await scanTopLevel(source);
  if (source.size > (opts.maxDecodeBytes ?? MAX_DECODE_BYTES)) {
    return { format: 'onnx', irVersion, producerName: undefined, opsets: [], graph: undefined };
  }
  let model: InstanceType<typeof onnx.ModelProto>;
  try {
    model = onnx.ModelProto.decode(await source.read(0, source.size));
  } catch (err) {
    // protobufjs throws plain Errors (and RangeError on runaway nesting) for malformed input.
    return fail(`the protobuf does not parse as an ONNX model (${(err as Error).message})`);
  }
  const graph = model.graph;
  if (!graph) return fail('the model has no graph');
  const opTypes = [...new Set((graph.node ?? []).map((n) => n.opType ?? ''))].sort();
  return {
    format: 'onnx',
    irVersion,
    producerName: model.producerName || undefined,
    opsets: (model.opsetImport ?? []).map((o) => ({ domain: o.domain ?? '', version: num(o.version) })),
    graph: {
      name: graph.name ?? '',
      inputs: (graph.input ?? []).map(valueInfo),
      outputs: (graph.output ?? []).map(valueInfo),
      nodeCount: graph.node?.length ?? 0,
      opTypes,
      initializerCount: graph.initializer?.length ?? 0,
    },
  };
}
