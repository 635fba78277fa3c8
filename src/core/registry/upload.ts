import type { FastifyRequest } from 'fastify';
import { invalidField } from './errors.js';
import type { UploadPart } from './versions.js';

/**
 * The parts of a multipart upload as the version service reads them. Paths in file names are kept
 * (busboy would otherwise cut them to their last segment) so that safeRelativePath judges the name
 * the client sent and directory layouts like onnx/model.onnx survive.
 */
export async function* uploadParts(
  request: FastifyRequest,
  maxUploadBytes: number,
): AsyncGenerator<UploadPart> {
  const parts = request.parts({
    preservePath: true,
    // One byte above our own limit so the artifact store's meter, which answers 413, trips first.
    limits: { fileSize: maxUploadBytes + 1, files: 1000, fields: 20, fieldSize: 1024 * 1024, parts: 1020 },
  } as Parameters<FastifyRequest['parts']>[0]);
  for await (const part of parts) {
    if (part.type === 'file') {
      if (part.fieldname !== 'file') throw invalidField(part.fieldname, "file parts must be named 'file'");
      yield { kind: 'file', filename: part.filename, stream: part.file };
    } else {
      const v = part.value;
      yield { kind: 'field', name: part.fieldname, value: typeof v === 'string' ? v : JSON.stringify(v) };
    }
  }
}

/**
 * An HTTP Range header as a byte range, or undefined to answer the whole file. Several ranges are
 * answered with the whole file, which RFC 9110 allows; a malformed header is ignored likewise.
 */
export function parseRange(
  header: string | undefined,
): { start?: number; end?: number; suffix?: number } | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') return { suffix: Number(m[2]) };
  return { start: Number(m[1]), ...(m[2] !== '' ? { end: Number(m[2]) } : {}) };
}
