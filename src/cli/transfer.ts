import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import { UsageError } from './errors.js';

/** A local file to upload and the relative path it gets in the version. */
export interface UploadFile {
  path: string;
  name: string;
  size: number;
}

/**
 * The files named on the command line: a file keeps its own name, a directory contributes every
 * file below it under its path relative to that directory (so `upload m ./onnx` sends `model.onnx`
 * and `tokenizer/vocab.json`). Symlinked directories are not followed: a loop would never end.
 */
export async function collectUploadFiles(args: readonly string[]): Promise<UploadFile[]> {
  const files: UploadFile[] = [];
  for (const arg of args) {
    let st: Awaited<ReturnType<typeof stat>>;
    try {
      st = await stat(arg);
    } catch {
      throw new UsageError(`No such file or directory: ${arg}`);
    }
    if (st.isFile()) files.push({ path: arg, name: basename(arg), size: st.size });
    else if (st.isDirectory()) await walk(arg, arg, files);
    else throw new UsageError(`Not a file or directory: ${arg}`);
  }
  if (files.length === 0) throw new UsageError('Nothing to upload: the directories are empty');
  const seen = new Set<string>();
  for (const f of files) {
    if (seen.has(f.name)) throw new UsageError(`Two files would be uploaded as ${f.name}`);
    seen.add(f.name);
  }
  return files;
}

async function walk(root: string, dir: string, into: UploadFile[]) {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const full = join(dir, e.name);
    if (e.isDirectory()) await walk(root, full, into);
    else if (e.isFile() || e.isSymbolicLink()) {
      const st = await stat(full).catch(() => null);
      if (st?.isFile())
        into.push({ path: full, name: relative(root, full).split(sep).join('/'), size: st.size });
    }
  }
}

/** A quoted-string for a Content-Disposition parameter; non-ASCII names also go as filename*. */
function dispositionName(name: string): string {
  const quoted = name.replace(/[\\"]/g, '\\$&').replace(/[\r\n]/g, '_');
  if (/^[\x20-\x7e]*$/.test(name)) return `filename="${quoted}"`;
  return `filename="${quoted.replace(/[^\x20-\x7e]/g, '_')}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

export interface MultipartBody {
  contentType: string;
  /** Exact byte length, so the request carries Content-Length and the server can refuse early. */
  length: number;
  stream: ReadableStream<Uint8Array>;
}

/**
 * A multipart/form-data body that reads each file only while it is being sent: any size, constant
 * memory. Fields come first because the server needs allow_pickle before it judges the files.
 * `onBytes` counts file bytes as they leave, for the progress bar.
 */
export function multipartBody(
  fields: Readonly<Record<string, string>>,
  files: readonly UploadFile[],
  onBytes: (n: number) => void = () => {},
): MultipartBody {
  const boundary = `----polar-${randomBytes(12).toString('hex')}`;
  const enc = new TextEncoder();
  const fieldChunks = Object.entries(fields).map(([name, value]) =>
    enc.encode(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`),
  );
  const fileHeads = files.map((f) =>
    enc.encode(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; ${dispositionName(f.name)}\r\n` +
        'Content-Type: application/octet-stream\r\n\r\n',
    ),
  );
  const crlf = enc.encode('\r\n');
  const end = enc.encode(`--${boundary}--\r\n`);
  const length =
    fieldChunks.reduce((n, c) => n + c.length, 0) +
    fileHeads.reduce((n, c) => n + c.length, 0) +
    files.reduce((n, f) => n + f.size + crlf.length, 0) +
    end.length;

  async function* chunks(): AsyncGenerator<Uint8Array> {
    yield* fieldChunks;
    for (const [i, f] of files.entries()) {
      yield fileHeads[i]!;
      let sent = 0;
      for await (const chunk of createReadStream(f.path)) {
        const c = chunk as Buffer;
        sent += c.length;
        // A file that grows while it is sent would break the declared length and the version.
        if (sent > f.size) throw new Error(`${f.path} changed while it was being uploaded`);
        onBytes(c.length);
        yield new Uint8Array(c.buffer, c.byteOffset, c.length);
      }
      if (sent !== f.size) throw new Error(`${f.path} changed while it was being uploaded`);
      yield crlf;
    }
    yield end;
  }
  const it = chunks();
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await it.next();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    async cancel() {
      await it.return(undefined);
    },
  });
  return { contentType: `multipart/form-data; boundary=${boundary}`, length, stream };
}
