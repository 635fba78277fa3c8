import { lstat, realpath } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { ValidationError } from '../../platform/errors.js';

/**
 * Path safety for every name that comes from a user, an upload, an archive entry or a remote
 * repository listing. The rule is an allow-list of shapes, not a list of known attacks: a path is
 * plain POSIX segments joined by '/', with nothing any layer (URL parser, Windows, Unicode
 * normalisation, percent-decoding) could turn into a separator or a traversal.
 */
export const MAX_PATH_LENGTH = 1024;
export const MAX_SEGMENT_BYTES = 255;
export const MAX_PATH_DEPTH = 32;

const unsafe = (input: unknown, reason: string) =>
  new ValidationError(
    `Unsafe path ${JSON.stringify(typeof input === 'string' ? input.slice(0, 200) : String(input))}: ${reason}`,
    [{ path: 'path', message: reason }],
    'unsafe_path',
  );

// C0 and C1 controls, DEL, and the Unicode line/paragraph separators and bidi overrides that make
// a name display differently from what it is.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
// '%' because any layer may percent-decode ('%2e%2e', '%252e' double-encoded); '#', '?', ';' because
// URL parsers cut the path there; ':' for drive letters, URL schemes and NTFS streams; '\\' is a
// separator on Windows.
const FORBIDDEN = /[\\%#?;:]/;
// Names Windows maps to devices in every directory, whatever the case and whatever extension
// follows (NUL.txt and nul.tar.gz are NUL): a file by that name cannot be written or read back
// there. The superscript digits are devices too; NFKC turns them into ASCII digits, and the checks
// run on that form as well.
const WINDOWS_DEVICE = /^(con|prn|aux|nul|conin\$|conout\$|com[0-9¹²³]|lpt[0-9¹²³])\s*(\.|$)/i;

function checkForm(input: string, form: string): void {
  if (CONTROL.test(form)) throw unsafe(input, 'control characters are not allowed');
  if (FORBIDDEN.test(form)) throw unsafe(input, 'characters \\ % # ? ; : are not allowed');
  if (form.startsWith('/')) throw unsafe(input, 'absolute paths are not allowed');
  const segments = form.split('/');
  if (segments.length > MAX_PATH_DEPTH) throw unsafe(input, `more than ${MAX_PATH_DEPTH} levels`);
  for (const s of segments) {
    if (s === '') throw unsafe(input, 'empty segments are not allowed');
    // Windows drops trailing dots and spaces, so '.. ' or '...' may become '..' there.
    if (/^[.\s]+$/.test(s)) throw unsafe(input, `segment '${s}' is not a name`);
    if (s !== s.trim()) throw unsafe(input, 'segments may not start or end with whitespace');
    // Windows drops a trailing dot, so 'model.' and 'model' would be one file there.
    if (s.endsWith('.')) throw unsafe(input, 'segments may not end with a dot');
    if (WINDOWS_DEVICE.test(s)) throw unsafe(input, `'${s}' is a reserved device name on Windows`);
    if (Buffer.byteLength(s, 'utf8') > MAX_SEGMENT_BYTES) {
      throw unsafe(input, `a segment is longer than ${MAX_SEGMENT_BYTES} bytes`);
    }
  }
}

/**
 * Returns `input` as a normalised (NFC) POSIX relative path, or throws ValidationError
 * `unsafe_path`. The checks run on the NFKC form too, so full-width dots or solidi ('．．／')
 * cannot become a traversal after some later normalisation.
 */
export function safeRelativePath(input: unknown): string {
  if (typeof input !== 'string') throw unsafe(input, 'not a string');
  if (input.length === 0) throw unsafe(input, 'empty path');
  if (input.length > MAX_PATH_LENGTH) throw unsafe(input, `longer than ${MAX_PATH_LENGTH} characters`);
  if (/[\ud800-\udfff]/.test(input.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ''))) {
    throw unsafe(input, 'not valid Unicode');
  }
  checkForm(input, input);
  const compat = input.normalize('NFKC');
  checkForm(input, compat);
  if (compat.split('/').length !== input.split('/').length) {
    throw unsafe(input, 'it contains a character that normalises to a separator');
  }
  const normalized = input.normalize('NFC');
  checkForm(input, normalized);
  return normalized;
}

const errno = (err: unknown) => (err as NodeJS.ErrnoException).code;

/**
 * The absolute path of `rel` inside `root`, refusing any existing segment that is a symbolic link
 * (each one is lstat-ed, so a link planted inside the root cannot redirect a read or a write).
 * Segments that do not exist yet are allowed: the caller is about to create them.
 */
export async function resolveInside(root: string, rel: string): Promise<string> {
  const safe = safeRelativePath(rel);
  const base = await realpath(root);
  let current = base;
  for (const segment of safe.split('/')) {
    current = join(current, segment);
    let st: Awaited<ReturnType<typeof lstat>>;
    try {
      st = await lstat(current);
    } catch (err) {
      if (errno(err) === 'ENOENT') break;
      throw err;
    }
    if (st.isSymbolicLink()) throw unsafe(rel, 'it goes through a symbolic link');
  }
  const full = join(base, safe);
  if (!full.startsWith(base + sep)) throw unsafe(rel, 'it leaves the root');
  return full;
}
