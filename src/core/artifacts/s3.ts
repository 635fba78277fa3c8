import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type S3Client,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { adoptByStreaming } from './adopt.js';
import { artifactNotFound } from './errors.js';
import { Meter } from './meter.js';
import {
  type AdoptOptions,
  type ArtifactInfo,
  type ArtifactStore,
  assertDigest,
  type ByteRange,
  isDigest,
  type PutOptions,
  type PutResult,
  resolveRange,
  shardedPath,
} from './store.js';

async function* sliceBytes(source: AsyncIterable<Buffer>, start: number, length: number) {
  let pos = 0;
  for await (const chunk of source) {
    const from = Math.max(0, start - pos);
    const to = Math.min(chunk.length, start + length - pos);
    if (to > from) yield chunk.subarray(from, to);
    pos += chunk.length;
    if (pos >= start + length) return;
  }
}

export interface S3StoreOptions {
  client: S3Client;
  bucket: string;
  /** Key prefix, e.g. 'polar/'; blobs go under `<prefix>sha256/`, uploads under `<prefix>tmp/`. */
  prefix?: string;
  maxBytes?: number;
  /** CopyObject handles at most 5 GiB; larger blobs are copied part by part. */
  copyThreshold?: number;
  copyPartSize?: number;
}

const GiB = 1024 ** 3;

const missing = (err: unknown) => {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404;
};

/**
 * Blobs in an S3-compatible bucket. S3 has no rename, so an upload goes to a random temporary key
 * while it is hashed, is then copied server-side to its content key and the temporary key deleted:
 * the content key only ever holds a complete, verified object.
 */
export class S3ArtifactStore implements ArtifactStore {
  readonly kind = 's3' as const;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;

  constructor(private readonly opts: S3StoreOptions) {
    this.client = opts.client;
    this.bucket = opts.bucket;
    this.prefix = opts.prefix ?? '';
  }

  private keyOf(sha256: string): string {
    assertDigest(sha256);
    return `${this.prefix}sha256/${shardedPath(sha256)}`;
  }

  async put(source: Readable | AsyncIterable<Uint8Array>, opts: PutOptions = {}): Promise<PutResult> {
    const tmpKey = `${this.prefix}tmp/${randomUUID()}`;
    const meter = new Meter(opts.maxBytes ?? this.opts.maxBytes);
    const body = Readable.from(meter.pass(source, opts.signal));
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: tmpKey, Body: body },
      queueSize: 2,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
      const sha256 = meter.finish(opts);
      const created = (await this.stat(sha256)) === null;
      // Copied even when present: a re-upload refreshes the time, so the collector spares the blob.
      await this.copy(tmpKey, this.keyOf(sha256), meter.size);
      return { sha256, size: meter.size, created };
    } catch (err) {
      // The upload's own error hides the cause (size limit, checksum, abort) the caller needs.
      body.destroy();
      throw err;
    } finally {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: tmpKey })).catch(() => {});
    }
  }

  /** S3 cannot take a local file without uploading it, so adopting is a hashed streaming upload. */
  adopt(filePath: string, opts: AdoptOptions): Promise<{ sha256: string; size: number }> {
    return adoptByStreaming(this, filePath, opts);
  }

  private async copy(from: string, to: string, size: number): Promise<void> {
    const source = `${this.bucket}/${from.split('/').map(encodeURIComponent).join('/')}`;
    if (size <= (this.opts.copyThreshold ?? 5 * GiB)) {
      await this.client.send(new CopyObjectCommand({ Bucket: this.bucket, Key: to, CopySource: source }));
      return;
    }
    const partSize = this.opts.copyPartSize ?? GiB;
    const { UploadId } = await this.client.send(
      new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: to }),
    );
    try {
      const parts: { ETag: string | undefined; PartNumber: number }[] = [];
      for (let start = 0, n = 1; start < size; start += partSize, n++) {
        const end = Math.min(start + partSize, size) - 1;
        const { CopyPartResult } = await this.client.send(
          new UploadPartCopyCommand({
            Bucket: this.bucket,
            Key: to,
            UploadId,
            PartNumber: n,
            CopySource: source,
            CopySourceRange: `bytes=${start}-${end}`,
          }),
        );
        parts.push({ ETag: CopyPartResult?.ETag, PartNumber: n });
      }
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: to,
          UploadId,
          MultipartUpload: { Parts: parts },
        }),
      );
    } catch (err) {
      await this.client
        .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: to, UploadId }))
        .catch(() => {});
      throw err;
    }
  }

  async has(sha256: string): Promise<boolean> {
    return (await this.stat(sha256)) !== null;
  }

  async stat(sha256: string): Promise<ArtifactInfo | null> {
    try {
      const head = await this.client.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: this.keyOf(sha256) }),
      );
      return { sha256, size: head.ContentLength ?? 0, modifiedAt: head.LastModified ?? new Date(0) };
    } catch (err) {
      if (missing(err)) return null;
      throw err;
    }
  }

  async open(sha256: string, range?: ByteRange): Promise<Readable> {
    const info = await this.stat(sha256);
    if (!info) throw artifactNotFound();
    const r = resolveRange(info.size, range);
    if (!r) return Readable.from([]);
    try {
      const out = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: this.keyOf(sha256),
          Range: `bytes=${r.start}-${r.end}`,
        }),
      );
      const body = out.Body as unknown as Readable;
      const length = r.end - r.start + 1;
      // Some S3-compatible servers ignore a range that ends at byte 0 and send the whole object.
      if (out.ContentLength === info.size && length !== info.size) {
        return Readable.from(sliceBytes(body, r.start, length));
      }
      return body;
    } catch (err) {
      if (missing(err)) throw artifactNotFound();
      throw err;
    }
  }

  async delete(sha256: string): Promise<boolean> {
    if (!(await this.has(sha256))) return false;
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.keyOf(sha256) }));
    return true;
  }

  private async *objects(prefix: string) {
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const o of page.Contents ?? []) yield o;
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async *list(): AsyncIterable<ArtifactInfo> {
    const base = `${this.prefix}sha256/`;
    for await (const o of this.objects(base)) {
      const name = o.Key?.slice(base.length) ?? '';
      const sha256 = name.slice(6);
      if (!isDigest(sha256) || shardedPath(sha256) !== name) continue;
      yield { sha256, size: o.Size ?? 0, modifiedAt: o.LastModified ?? new Date(0) };
    }
  }

  async sweepTemporary(before: Date): Promise<number> {
    let removed = 0;
    for await (const o of this.objects(`${this.prefix}tmp/`)) {
      if (!o.Key || (o.LastModified && o.LastModified >= before)) continue;
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: o.Key }));
      removed++;
    }
    return removed;
  }
}
