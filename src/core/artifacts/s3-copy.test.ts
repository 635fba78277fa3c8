import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  S3Client,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3ArtifactStore } from './s3.js';

/**
 * Blobs over CopyObject's 5 GiB limit are published with a multipart copy. The in-process test
 * server does not implement UploadPartCopy, so the part plan is checked by a client that records
 * commands and answers the multipart-copy ones itself (the upload itself goes to the server), and against a real S3-compatible service when POLAR_TEST_S3_ENDPOINT is set.
 */
type Command = { constructor: { name: string }; input: Record<string, unknown> };

let server: S3rver | undefined;
let port = 0;
let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'polar-s3-copy-'));
  server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: dir,
    configureBuckets: [{ name: 'b' }],
  });
  ({ port } = await server.run());
});
afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

/** A client of the test server that records every command and answers the multipart-copy ones itself. */
function recordingClient(failOn?: string) {
  const sent: Command[] = [];
  const client = new S3Client({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  const send = client.send.bind(client) as (c: unknown) => Promise<unknown>;
  Object.assign(client, {
    async send(command: Command) {
      sent.push(command);
      if (command.constructor.name === failOn) throw new Error('service unavailable');
      if (command instanceof CreateMultipartUploadCommand) return { UploadId: 'u1' };
      if (command instanceof UploadPartCopyCommand) {
        return { CopyPartResult: { ETag: `"etag-${command.input.PartNumber}"` } };
      }
      if (
        command instanceof CompleteMultipartUploadCommand ||
        command instanceof AbortMultipartUploadCommand
      ) {
        return {};
      }
      return send(command);
    },
  });
  return { client, sent };
}

const names = (sent: Command[]) => sent.map((c) => c.constructor.name);

describe('S3 multipart copy of large blobs', () => {
  it('copies in consecutive ranges that cover the blob exactly, then completes in order', async () => {
    const { client, sent } = recordingClient();
    const store = new S3ArtifactStore({
      client,
      bucket: 'b',
      prefix: 'p/',
      copyThreshold: 10,
      copyPartSize: 4,
    });
    const data = Buffer.from('0123456789abc'); // 13 bytes: parts 0-3, 4-7, 8-11, 12-12
    const { sha256 } = await store.put(Readable.from([data]));
    expect(sha256).toBe(createHash('sha256').update(data).digest('hex'));
    const parts = sent.filter((c) => c instanceof UploadPartCopyCommand).map((c) => c.input);
    expect(parts.map((p) => p.CopySourceRange)).toEqual([
      'bytes=0-3',
      'bytes=4-7',
      'bytes=8-11',
      'bytes=12-12',
    ]);
    expect(parts.map((p) => p.PartNumber)).toEqual([1, 2, 3, 4]);
    expect(
      parts.every((p) => p.Key === `p/sha256/${sha256.slice(0, 2)}/${sha256.slice(2, 4)}/${sha256}`),
    ).toBe(true);
    const complete = sent.find((c) => c instanceof CompleteMultipartUploadCommand);
    expect(complete?.input.MultipartUpload).toEqual({
      Parts: [1, 2, 3, 4].map((n) => ({ ETag: `"etag-${n}"`, PartNumber: n })),
    });
    expect(names(sent)).not.toContain('CopyObjectCommand');
    // The temporary key is deleted last.
    expect(sent.at(-1)).toBeInstanceOf(DeleteObjectCommand);
    expect(String(sent.at(-1)?.input.Key)).toMatch(/^p\/tmp\//);
  });

  it('uses a single CopyObject below the threshold', async () => {
    const { client, sent } = recordingClient();
    const store = new S3ArtifactStore({ client, bucket: 'b', copyThreshold: 100 });
    // A real server answers this one: the blob is readable afterwards.
    const { sha256 } = await store.put(Readable.from([Buffer.from('small')]));
    expect((await buffer(await store.open(sha256))).toString()).toBe('small');
    expect(sent.filter((c) => c instanceof CopyObjectCommand)).toHaveLength(1);
    expect(names(sent)).not.toContain('CreateMultipartUploadCommand');
  });

  it('aborts the multipart copy and removes the temporary key when a part fails', async () => {
    const { client, sent } = recordingClient('UploadPartCopyCommand');
    const store = new S3ArtifactStore({ client, bucket: 'b', copyThreshold: 1, copyPartSize: 2 });
    await expect(store.put(Readable.from([Buffer.from('abcdef')]))).rejects.toThrow('service unavailable');
    expect(sent.some((c) => c instanceof AbortMultipartUploadCommand)).toBe(true);
    expect(sent.at(-1)).toBeInstanceOf(DeleteObjectCommand);
  });
});

const endpoint = process.env.POLAR_TEST_S3_ENDPOINT;
describe.runIf(endpoint)('S3 multipart copy against POLAR_TEST_S3_ENDPOINT', () => {
  it('publishes a blob copied in 5 MiB parts and reads it back', async () => {
    const client = new S3Client({
      endpoint,
      region: process.env.POLAR_TEST_S3_REGION ?? 'us-east-1',
      forcePathStyle: true,
    });
    const store = new S3ArtifactStore({
      client,
      bucket: process.env.POLAR_TEST_S3_BUCKET ?? 'polar-test',
      prefix: `test-${Date.now()}/`,
      copyThreshold: 1,
      copyPartSize: 5 * 1024 * 1024,
    });
    const data = Buffer.alloc(11 * 1024 * 1024, 7);
    const { sha256, size } = await store.put(Readable.from([data]));
    expect(size).toBe(data.length);
    expect((await buffer(await store.open(sha256))).equals(data)).toBe(true);
    await store.delete(sha256);
  }, 120_000);
});
