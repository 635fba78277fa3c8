import { NoMatchingFilesError, PickleRefusedError } from './errors.js';

export const MODEL_FORMATS = ['safetensors', 'gguf', 'onnx', 'pytorch'] as const;
export type ModelFormat = (typeof MODEL_FORMATS)[number];

/** What an import needs to know of a remote file. */
export interface SelectableFile {
  path: string;
}

const WEIGHTS: Record<ModelFormat, RegExp> = {
  safetensors: /\.safetensors$/i,
  gguf: /\.gguf$/i,
  // ONNX keeps large tensors in side files next to the graph.
  onnx: /\.(onnx|onnx_data|onnx\.data)$/i,
  pytorch: /\.(bin|pt|pth|pkl|ckpt)$/i,
};

const ANY_WEIGHTS =
  /\.(safetensors|gguf|onnx|onnx_data|onnx\.data|bin|pt|pth|pkl|ckpt|h5|msgpack|tflite|ot)$/i;

/** Files that make weights usable (configs, tokenizers, chat templates); tiny next to the weights. */
const SUPPORT = /\.(json|txt|model|tiktoken|jinja)$/i;

export interface SelectOptions {
  format: ModelFormat;
  /** Globs applied to weight files (e.g. `*Q4_K_M.gguf`); support files are kept whatever they say. */
  include?: readonly string[];
  /** Storing pickle weights is an admin decision; loading them is never allowed. */
  allowPickle?: boolean;
}

/**
 * Picks the files one import downloads: the weights of the requested format that pass the globs and,
 * except for GGUF (self-contained), the support files next to them. Weights of other formats are left
 * out, so a safetensors import never pulls a `pytorch_model.bin`.
 */
export function selectFiles<T extends SelectableFile>(files: readonly T[], opts: SelectOptions): T[] {
  if (opts.format === 'pytorch' && !opts.allowPickle) throw new PickleRefusedError();
  const include = opts.include ?? [];
  const globs = include.map(globToRegExp);
  const weightRule = WEIGHTS[opts.format];
  const weights = files.filter(
    (f) => weightRule.test(f.path) && (globs.length === 0 || globs.some((g) => g.test(f.path))),
  );
  if (weights.length === 0) throw new NoMatchingFilesError(opts.format, include);
  if (opts.format === 'gguf') return weights;
  const support = files.filter((f) => SUPPORT.test(f.path) && !ANY_WEIGHTS.test(f.path));
  return [...weights, ...support].sort((a, b) => a.path.localeCompare(b.path));
}

/**
 * Glob → RegExp: `*` and `?` stay within a path segment, `**` crosses segments; a pattern without
 * `/` matches the file name in any folder (as .gitignore does). Case-insensitive, because quantisation
 * names are spelled both ways (`Q4_K_M`, `q4_k_m`).
 */
export function globToRegExp(pattern: string): RegExp {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*' && pattern[i + 1] === '*') {
      const slash = pattern[i + 2] === '/';
      out += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (c === '*') {
      out += '[^/]*';
    } else if (c === '?') {
      out += '[^/]';
    } else {
      out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  const anchor = pattern.includes('/') ? '^' : '(?:^|/)';
  return new RegExp(`${anchor}${out}$`, 'i');
}
