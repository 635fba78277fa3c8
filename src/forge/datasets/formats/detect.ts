import { datasetEmpty, formatUnsupported } from '../errors.js';
import type { DatasetFormat } from '../tables.js';

/** Bytes read before deciding: enough for a long CSV header or the start of a JSON document. */
export const SNIFF_BYTES = 64 * 1024;

const MAGIC: [bytes: number[], what: string][] = [
  [[0x50, 0x4b, 0x03, 0x04], 'a ZIP archive (an Excel workbook?)'],
  [[0x1f, 0x8b], 'a gzip-compressed file'],
  [[0x50, 0x41, 0x52, 0x31], 'a Parquet file'],
  [[0xd0, 0xcf, 0x11, 0xe0], 'an old Office document'],
  [[0x25, 0x50, 0x44, 0x46], 'a PDF document'],
];

/** Valid UTF-8 up to the last complete character (a head may end inside one). */
function isUtf8(head: Uint8Array): boolean {
  let end = head.length;
  // Step back over a trailing partial sequence: at most 3 continuation bytes and their lead byte.
  for (let i = head.length - 1; i >= Math.max(0, head.length - 4); i--) {
    const b = head[i]!;
    if ((b & 0xc0) === 0x80) continue;
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    if (head.length - i < need) end = i;
    break;
  }
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(head.subarray(0, end));
    return true;
  } catch {
    return false;
  }
}

/**
 * The format of a dataset file from its first bytes, whatever its name says: `[` followed by `{` or
 * `]` is a JSON array, `{` starts JSON Lines, other UTF-8 text is CSV. Binary content (NUL bytes,
 * invalid UTF-8, the signatures of common archive and document formats) is refused.
 */
export function detectFormat(head: Uint8Array): DatasetFormat {
  for (const [magic, what] of MAGIC) if (magic.every((b, i) => head[i] === b)) throw formatUnsupported(what);
  if (head.includes(0)) throw formatUnsupported('binary content (NUL bytes)');
  if (!isUtf8(head)) throw formatUnsupported('text that is not UTF-8');
  const text = new TextDecoder('utf-8').decode(head).replace(/^\uFEFF/, '');
  const first = /\S/.exec(text);
  if (!first) throw datasetEmpty();
  if (first[0] === '{') return 'jsonl';
  if (first[0] === '[' && /^\s*\[\s*(?:[{\]]|$)/.test(text)) return 'json';
  return 'csv';
}
