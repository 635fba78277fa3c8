/**
 * The fake Hugging Face hub of the test fixtures, serving one repo with a large safetensors file, in
 * its own process so the hub and the downloader do not share an event loop (on two cores each gets
 * one). Usage: node --import tsx bench/hub-target.ts <MiB>
 * Prints one JSON line `{ url, repo, path, size, sha256, files_bytes }` when ready; exits on SIGTERM.
 */
import { createCipheriv } from 'node:crypto';
import { startFakeHub } from '../test/fixtures/fake-hub/index.js';

const BENCH_REPO = 'polar-bench/large';
const BENCH_FILE = 'model.safetensors';

/**
 * A valid safetensors file of `size` bytes: one U8 tensor covering the whole payload, so the node's
 * format check accepts it. The payload is AES-256-CTR keystream over zeros: deterministic,
 * incompressible and generated at GB/s, where a byte-by-byte PRNG in JS takes seconds for 256 MiB.
 */
function safetensorsOfSize(size: number): Buffer {
  const headerFor = (n: number) =>
    JSON.stringify({ weight: { dtype: 'U8', shape: [n], data_offsets: [0, n] } });
  // The header length is padded to 8 bytes (the format's alignment); the payload takes the rest.
  let payload = size - 8 - 64;
  let header = headerFor(payload);
  const padded = Math.ceil(header.length / 8) * 8;
  payload = size - 8 - padded;
  header = headerFor(payload).padEnd(padded, ' ');
  if (payload <= 0 || Buffer.byteLength(header) !== padded)
    throw new Error(`cannot build a ${size}-byte file`);
  const out = Buffer.allocUnsafe(size);
  out.writeBigUInt64LE(BigInt(padded), 0);
  out.write(header, 8, 'latin1');
  const cipher = createCipheriv('aes-256-ctr', Buffer.alloc(32, 7), Buffer.alloc(16, 0));
  const zeros = Buffer.alloc(1 << 20);
  for (let at = 8 + padded; at < size; at += zeros.length) {
    const n = Math.min(zeros.length, size - at);
    cipher.update(zeros.subarray(0, n)).copy(out, at);
  }
  return out;
}

const mib = Number(process.argv[2]);
if (!Number.isInteger(mib) || mib < 1) {
  process.stderr.write('usage: hub-target.ts <MiB>\n');
  process.exit(2);
}
const content = safetensorsOfSize(mib * 1048576);
const config = Buffer.from('{"model_type":"llama","architectures":["LlamaForCausalLM"]}\n');
const hub = await startFakeHub([{ id: BENCH_REPO, files: { [BENCH_FILE]: content, 'config.json': config } }]);
const file = hub.repo(BENCH_REPO).files.get(BENCH_FILE);
process.stdout.write(
  `${JSON.stringify({
    url: hub.url,
    repo: BENCH_REPO,
    path: BENCH_FILE,
    size: content.length,
    sha256: file?.lfs?.oid,
    files_bytes: content.length + config.length,
  })}\n`,
);
process.on('SIGTERM', () => {
  void hub.close().finally(() => process.exit(0));
});
