import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { tinyLlamaGguf, writeGguf } from '../../../test/fixtures/models/gguf.js';
import { tinyOnnxClassifier } from '../../../test/fixtures/models/onnx.js';
import { legacyTorchPickle, plainZip, torchZipCheckpoint } from '../../../test/fixtures/models/pickle.js';
import { tinySafetensors, writeSafetensors } from '../../../test/fixtures/models/safetensors.js';
import { detectFormat, expectFormat, inspectModel, inspectModelFile } from './detect.js';
import { validateGguf } from './gguf.js';
import { validateOnnx } from './onnx.js';
import { validateSafetensors } from './safetensors.js';
import { bufferSource } from './source.js';

const invalid = (detail: RegExp) => ({
  code: 'invalid_model_file',
  status: 422,
  message: expect.stringMatching(detail),
});

describe('detectFormat (content only)', () => {
  it('recognises each fixture', () => {
    expect(detectFormat(tinyLlamaGguf())).toBe('gguf');
    expect(detectFormat(tinySafetensors())).toBe('safetensors');
    expect(detectFormat(tinyOnnxClassifier())).toBe('onnx');
    expect(detectFormat(legacyTorchPickle())).toBe('pickle');
    expect(detectFormat(torchZipCheckpoint())).toBe('pickle');
  });

  it('answers unknown for other content', () => {
    for (const b of [
      Buffer.alloc(0),
      Buffer.from('hello world'),
      Buffer.from('{"a":1}'),
      plainZip(),
      Buffer.alloc(100),
    ]) {
      expect(detectFormat(b)).toBe('unknown');
    }
  });

  it('does not care about file names: a pickle named model.safetensors is a pickle', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'polar-formats-'));
    try {
      await writeFile(join(dir, 'model.safetensors'), torchZipCheckpoint());
      await writeFile(join(dir, 'model.bin'), tinyLlamaGguf({ layers: 1 }));
      expect((await inspectModelFile(join(dir, 'model.safetensors'))).format).toBe('pickle');
      expect((await inspectModelFile(join(dir, 'model.bin'))).format).toBe('gguf');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a file of another format than the declared one', async () => {
    await expect(expectFormat(bufferSource(legacyTorchPickle()), 'safetensors')).rejects.toMatchObject(
      invalid(/the content is pickle/),
    );
    expect((await expectFormat(bufferSource(tinySafetensors()), 'safetensors')).format).toBe('safetensors');
  });
});

describe('GGUF', () => {
  const file = tinyLlamaGguf();

  it('reads the tiny llama fixture', async () => {
    const info = await validateGguf(bufferSource(file));
    expect(info).toMatchObject({ format: 'gguf', version: 3, alignment: 32, architecture: 'llama' });
    expect(info.metadata['llama.block_count']).toBe(2);
    expect(info.metadata['tokenizer.ggml.tokens']).toEqual({
      type: 'array',
      itemType: 'string',
      length: 259,
    });
    expect(info.metadata['tokenizer.ggml.merges']).toEqual([]);
    expect(info.tensors).toHaveLength(3 + 2 * 9);
    expect(info.tensors[0]).toMatchObject({
      name: 'token_embd.weight',
      shape: [64, 259],
      type: 'F32',
      offset: 0,
    });
    expect(info.parameterCount).toBe(2 * 64 * 259 + 64 + 2 * (2 * 64 + 4 * 64 * 64 + 3 * 64 * 128));
    expect(info.dataOffset % 32).toBe(0);
  });

  const patched = (at: number, write: (b: Buffer) => void) => {
    const b = Buffer.from(file);
    write(b.subarray(at));
    return bufferSource(b);
  };

  it.each([
    ['bad magic', patched(0, (b) => b.write('GGUX')), /does not start with "GGUF"/],
    ['version 1', patched(4, (b) => b.writeUInt32LE(1)), /version 1 is not supported/],
    ['big-endian version', patched(4, (b) => b.writeUInt32BE(3)), /big-endian/],
    ['huge tensor count', patched(8, (b) => b.writeBigUInt64LE(1n << 40n)), /tensor count .* exceeds/],
    ['huge kv count', patched(16, (b) => b.writeBigUInt64LE(1n << 62n)), /metadata count .* exceeds/],
    [
      'key longer than the file',
      patched(24, (b) => b.writeBigUInt64LE(1n << 30n)),
      /length .* exceeds|past the end/,
    ],
    ['unknown value type', patched(24 + 8 + 20, (b) => b.writeUInt32LE(99)), /unknown value type 99/],
    ['truncated in the metadata', bufferSource(file.subarray(0, 2000)), /exceeds the limit|past the end/],
    ['truncated in a string', bufferSource(file.subarray(0, 40)), /past the end/],
    ['truncated data', bufferSource(file.subarray(0, file.length - 1)), /runs past the end/],
  ])('refuses %s', async (_name, source, detail) => {
    await expect(validateGguf(source)).rejects.toMatchObject(invalid(detail));
  });

  const tensor = (name: string, shape: number[]) => ({
    name,
    shape,
    data: new Float32Array(shape.reduce((a, b) => a * b, 1)),
  });

  it('checks alignment, names and tensor overlap', async () => {
    const bad = writeGguf([['general.alignment', { t: 'u32', v: 3 }]], []);
    await expect(validateGguf(bufferSource(bad))).rejects.toMatchObject(invalid(/power of two/));
    const wrongType = writeGguf([['general.alignment', { t: 'i32', v: 32 }]], []);
    await expect(validateGguf(bufferSource(wrongType))).rejects.toMatchObject(invalid(/u32 power of two/));
    const dup = writeGguf([], [tensor('a', [8]), tensor('a', [8])]);
    await expect(validateGguf(bufferSource(dup))).rejects.toMatchObject(invalid(/appears twice/));
    const good = writeGguf([], [tensor('a', [8]), tensor('b', [8])]);
    const info = await validateGguf(bufferSource(good));
    // Point b's offset at a's data: the second tensor info's offset is its last 8 header bytes.
    const bOffsetAt = info.dataOffset - ((info.dataOffset - 24 - 2 * (8 + 1 + 4 + 8 + 4 + 8)) % 32) - 8;
    const overlapping = Buffer.from(good);
    overlapping.writeBigUInt64LE(0n, bOffsetAt);
    await expect(validateGguf(bufferSource(overlapping))).rejects.toMatchObject(invalid(/overlaps/));
    overlapping.writeBigUInt64LE(16n, bOffsetAt);
    await expect(validateGguf(bufferSource(overlapping))).rejects.toMatchObject(invalid(/not aligned/));
  });
});

describe('safetensors', () => {
  it('reads the fixture', async () => {
    const info = await validateSafetensors(bufferSource(tinySafetensors()));
    expect(info.metadata).toEqual({ format: 'pt', producer: 'polar-test-fixtures' });
    expect(info.tensors.map((t) => t.name)).toEqual(['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']);
    expect(info.parameterCount).toBe(32 + 8 + 24 + 3);
  });

  const withHeader = (header: unknown, dataBytes: number) => {
    const json = Buffer.from(JSON.stringify(header));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    return bufferSource(Buffer.concat([len, json, Buffer.alloc(dataBytes)]));
  };
  const t = (dtype: string, shape: number[], offsets: number[]) => ({ dtype, shape, data_offsets: offsets });

  it.each([
    [
      'a header length beyond the limit',
      (() => {
        const b = Buffer.alloc(16);
        b.writeBigUInt64LE(1n << 40n);
        return bufferSource(b);
      })(),
      /exceeds the limit/,
    ],
    [
      'a header length past the end',
      (() => {
        const b = Buffer.alloc(16);
        b.writeBigUInt64LE(100n);
        return bufferSource(b);
      })(),
      /past the end/,
    ],
    ['a short file', bufferSource(Buffer.alloc(4)), /shorter/],
    ['a header that is not an object', withHeader('x', 0), /does not start with "\{"/],
    ['a JSON array', withHeader([1], 0), /does not start/],
    ['a tensor that is not an object', withHeader({ a: 1 }, 0), /tensor 'a' is not an object/],
    ['an unknown dtype', withHeader({ a: t('F128', [1], [0, 16]) }, 16), /unknown dtype/],
    ['a shape that does not match', withHeader({ a: t('F32', [3], [0, 8]) }, 8), /does not fill/],
    ['negative dims', withHeader({ a: t('F32', [-1], [0, 0]) }, 0), /invalid shape/],
    ['offsets past the end', withHeader({ a: t('F32', [4], [0, 16]) }, 8), /past the end/],
    ['reversed offsets', withHeader({ a: t('F32', [0], [8, 0]) }, 8), /invalid data_offsets/],
    ['overlap', withHeader({ a: t('F32', [2], [0, 8]), b: t('F32', [2], [4, 12]) }, 12), /overlaps/],
    ['a gap', withHeader({ a: t('F32', [1], [0, 4]), b: t('F32', [1], [8, 12]) }, 12), /gap/],
    ['trailing bytes', withHeader({ a: t('F32', [1], [0, 4]) }, 8), /cover 4/],
    [
      'broken JSON',
      (() => {
        const b = Buffer.alloc(13);
        b.writeBigUInt64LE(5n);
        b.write('{oops', 8);
        return bufferSource(b);
      })(),
      /not valid UTF-8 JSON/,
    ],
    ['bad __metadata__', withHeader({ __metadata__: { a: 1 } }, 0), /__metadata__/],
  ])('refuses %s', async (_name, source, detail) => {
    await expect(validateSafetensors(source)).rejects.toMatchObject(invalid(detail));
  });

  it('accepts packed 4-bit tensors whose bits fill whole bytes', async () => {
    const info = await validateSafetensors(withHeader({ a: t('F4', [2, 3], [0, 3]) }, 3));
    expect(info.tensors[0]?.dtype).toBe('F4');
    const empty = writeSafetensors([]);
    expect((await validateSafetensors(bufferSource(empty))).tensors).toEqual([]);
  });
});

describe('ONNX', () => {
  it('reads the tiny classifier', async () => {
    const info = await validateOnnx(bufferSource(tinyOnnxClassifier()));
    expect(info).toMatchObject({ format: 'onnx', irVersion: 8, producerName: 'polar-test-fixtures' });
    expect(info.opsets).toEqual([{ domain: '', version: 13 }]);
    expect(info.graph).toMatchObject({
      nodeCount: 3,
      opTypes: ['Add', 'MatMul', 'Softmax'],
      initializerCount: 2,
    });
    expect(info.graph?.inputs).toEqual([{ name: 'x', elemType: 1, shape: ['batch', 4] }]);
  });

  it('refuses a model without a graph, truncated files and garbage', async () => {
    const { onnx } = onnxProto;
    const noGraph = Buffer.from(onnx.ModelProto.encode({ irVersion: 8, producerName: 'x' }).finish());
    await expect(validateOnnx(bufferSource(noGraph))).rejects.toMatchObject(invalid(/no graph/));
    const noOpset = Buffer.from(onnx.ModelProto.encode({ irVersion: 8, graph: { name: 'g' } }).finish());
    await expect(validateOnnx(bufferSource(noOpset))).rejects.toMatchObject(invalid(/no opset_import/));
    const file = tinyOnnxClassifier();
    await expect(validateOnnx(bufferSource(file.subarray(0, file.length - 5)))).rejects.toMatchObject(
      invalid(/past the end|varint|parse/),
    );
    await expect(validateOnnx(bufferSource(Buffer.from([0x08, 0x08, 0x3f])))).rejects.toMatchObject(
      invalid(/wire type/),
    );
  });

  it('checks only the wire structure of files too large to decode, never loading their weights', async () => {
    const file = tinyOnnxClassifier();
    const info = await validateOnnx(bufferSource(file), { maxDecodeBytes: 16 });
    expect(info).toMatchObject({ format: 'onnx', irVersion: 8, graph: undefined });
    await expect(
      validateOnnx(bufferSource(file.subarray(0, file.length - 3)), { maxDecodeBytes: 16 }),
    ).rejects.toMatchObject(invalid(/past the end/));
  });

  it('inspectModel routes to the right validator', async () => {
    expect((await inspectModel(bufferSource(tinyOnnxClassifier()))).format).toBe('onnx');
    expect(await inspectModel(bufferSource(legacyTorchPickle()))).toEqual({ format: 'pickle' });
  });
});
