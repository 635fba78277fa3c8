/**
 * Which runtime serves which version format. Entries name a module by URL rather than holding code,
 * because the module is imported inside the model's host process, not in the node. Forge adds the
 * tabular pipeline runtime here; plugins can add more.
 */
export interface RuntimeEntry {
  name: string;
  /** Version formats this runtime loads (gguf, onnx, hf-onnx, polar-tabular, ...). */
  formats: string[];
  /** URL of a module whose `runtime` export implements RuntimeModule. */
  module: string;
}

const here = (path: string) => new URL(path, import.meta.url).href;

// The TypeScript sources import each other with .js specifiers; tsx maps them in the host too.
export const BUILTIN_RUNTIMES: readonly RuntimeEntry[] = [
  { name: 'llama', formats: ['gguf'], module: here('./llama/runtime.js') },
  { name: 'onnx', formats: ['onnx'], module: here('./onnx/runtime.js') },
  { name: 'transformers', formats: ['hf-onnx'], module: here('./transformers/runtime.js') },
  { name: 'tabular', formats: ['polar-tabular'], module: here('./tabular/runtime.js') },
];

export interface RuntimeRegistry {
  /** A later entry for a format takes precedence over an earlier one. */
  register(entry: RuntimeEntry): void;
  forFormat(format: string): RuntimeEntry | undefined;
  list(): readonly RuntimeEntry[];
}

export function createRuntimeRegistry(initial: readonly RuntimeEntry[] = BUILTIN_RUNTIMES): RuntimeRegistry {
  const entries: RuntimeEntry[] = [...initial];
  return {
    register(entry) {
      entries.push(entry);
    },
    forFormat(format) {
      return entries.findLast((e) => e.formats.includes(format));
    },
    list: () => entries,
  };
}
