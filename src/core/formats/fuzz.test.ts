import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tinyLlamaGguf } from '../../../test/fixtures/models/gguf.js';
import { tinyOnnxClassifier } from '../../../test/fixtures/models/onnx.js';
import { tinySafetensors } from '../../../test/fixtures/models/safetensors.js';
import { detectFormat, inspectModel } from './detect.js';
import { InvalidModelFileError } from './errors.js';
import { validateGguf } from './gguf.js';
import { validateOnnx } from './onnx.js';
import { validateSafetensors } from './safetensors.js';
import { type ByteSource, bufferSource } from './source.js';

/**
 * Hostile input: every validator either answers or throws the typed 422 error; never another
 * error, never a hang (each property runs under the test's time limit).
 */
type Validator = (source: ByteSource) => Promise<unknown>;

async function answersOrRefuses(validate: Validator, bytes: Uint8Array): Promise<void> {
  try {
    await validate(bufferSource(bytes));
  } catch (err) {
    if (!(err instanceof InvalidModelFileError)) throw err;
    expect(err.status).toBe(422);
    expect(err.code).toBe('invalid_model_file');
  }
}

const flips = (file: Buffer) =>
  fc
    .array(fc.tuple(fc.nat(file.length - 1), fc.integer({ min: 0, max: 255 })), {
      minLength: 1,
      maxLength: 8,
    })
    .map((changes) => {
      const b = Buffer.from(file);
      for (const [at, value] of changes) b[at] = value;
      return b;
    });

const truncations = (file: Buffer) => fc.nat(file.length - 1).map((n) => file.subarray(0, n));

/** Random bytes after a given prefix, so the validator gets past its magic and into the parsing. */
const withPrefix = (prefix: Uint8Array) =>
  fc.uint8Array({ maxLength: 2048 }).map((tail) => Buffer.concat([prefix, tail]));

// Small fixtures keep each run cheap; the structure is the same as the full-size ones.
const gguf = tinyLlamaGguf({ layers: 1, width: 32, heads: 2 });
const safetensors = tinySafetensors();
const onnx = tinyOnnxClassifier();

const cases: [string, Validator, Buffer, Uint8Array][] = [
  ['GGUF', validateGguf, gguf, Buffer.from('GGUF\x03\x00\x00\x00', 'latin1')],
  ['safetensors', validateSafetensors, safetensors, Buffer.from([0x40, 0, 0, 0, 0, 0, 0, 0, 0x7b])],
  ['ONNX', validateOnnx, onnx, Buffer.from([0x08, 0x08, 0x3a])],
];

const RUNS = 300;
const LIMIT_MS = 60_000;

describe.each(cases)('%s validator under hostile input', (_name, validate, file, prefix) => {
  it('accepts the untouched fixture', async () => {
    await expect(validate(bufferSource(file))).resolves.toBeTruthy();
  });

  it(
    'random bytes',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ maxLength: 4096 }), (b) => answersOrRefuses(validate, b)),
        { numRuns: RUNS },
      );
      await fc.assert(
        fc.asyncProperty(withPrefix(prefix), (b) => answersOrRefuses(validate, b)),
        { numRuns: RUNS },
      );
    },
    LIMIT_MS,
  );

  it(
    'truncations of a valid file',
    async () => {
      await fc.assert(
        fc.asyncProperty(truncations(file), async (b) => {
          // Every proper prefix loses data the header promised, so it must be refused.
          await expect(validate(bufferSource(b))).rejects.toBeInstanceOf(InvalidModelFileError);
        }),
        { numRuns: RUNS },
      );
    },
    LIMIT_MS,
  );

  it(
    'byte flips in a valid file',
    async () => {
      await fc.assert(
        fc.asyncProperty(flips(file), (b) => answersOrRefuses(validate, b)),
        { numRuns: RUNS },
      );
    },
    LIMIT_MS,
  );
});

describe('detection and routing under hostile input', () => {
  it(
    'detectFormat never throws and inspectModel only refuses with the typed error',
    async () => {
      const anyFile = fc.oneof(
        fc.uint8Array({ maxLength: 1024 }),
        ...cases.map(([, , file]) => flips(file)),
        ...cases.map(([, , file]) => truncations(file)),
      );
      await fc.assert(
        fc.asyncProperty(anyFile, async (b) => {
          expect(['gguf', 'safetensors', 'onnx', 'pickle', 'unknown']).toContain(detectFormat(b));
          await answersOrRefuses(inspectModel, b);
        }),
        { numRuns: RUNS },
      );
    },
    LIMIT_MS,
  );
});

describe('hostile headers that are large, not just malformed', () => {
  it('walks 200k metadata entries that promise a million, and refuses within a generous bound', async () => {
    const entry = Buffer.alloc(8 + 6 + 4 + 1);
    entry.writeBigUInt64LE(6n);
    entry.writeUInt32LE(0, 14); // u8
    const head = Buffer.alloc(24);
    head.write('GGUF');
    head.writeUInt32LE(3, 4);
    head.writeBigUInt64LE(1_000_000n, 16);
    const entries = Array.from({ length: 200_000 }, (_, i) => {
      const e = Buffer.from(entry);
      e.write(String(i).padStart(6, '0'), 8);
      return e;
    });
    const started = Date.now();
    await expect(validateGguf(bufferSource(Buffer.concat([head, ...entries])))).rejects.toThrow(
      /metadata key #200000 .*past the end/,
    );
    expect(Date.now() - started).toBeLessThan(20_000);
  }, 30_000);

  it('refuses a safetensors header of 100k overlapping tensors within a generous bound', async () => {
    const header: Record<string, unknown> = {};
    for (let i = 0; i < 100_000; i++) header[`t${i}`] = { dtype: 'U8', shape: [4], data_offsets: [0, 4] };
    const json = Buffer.from(JSON.stringify(header));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    const started = Date.now();
    await expect(
      validateSafetensors(bufferSource(Buffer.concat([len, json, Buffer.alloc(4)]))),
    ).rejects.toThrow(/overlaps/);
    expect(Date.now() - started).toBeLessThan(20_000);
  }, 30_000);
});
