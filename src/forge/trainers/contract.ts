/**
 * The contract between Polar and an external trainer, in one place:
 *
 * - inputs: the environment holds POLAR_DATASET_PATH (the dataset version's file), POLAR_DATASET_FORMAT,
 *   POLAR_PARAMS_PATH (a JSON file with the job's `params`), POLAR_OUTPUT_DIR (empty, the trainer's
 *   to fill), POLAR_JOB_ID and POLAR_ATTEMPT; the same paths can be put into the arguments with
 *   {dataset_path}, {params_path}, {output_dir} and {job_id};
 * - reports: each line of standard output that is a JSON object is a report (`{"progress": 0.4}`,
 *   `{"metric": "loss", "value": 0.3, "step": 5}`, `{"log": "...", "level": "warn"}`, `{"metrics":
 *   {...}}` for the final metrics, `{"error": "...", "permanent": true}` before a failing exit);
 *   any other line, and every line of standard error, is kept as a log line;
 * - outputs: exit code 0 means success, and every file left in the output directory becomes one
 *   model version.
 */

export const PLACEHOLDERS = ['dataset_path', 'params_path', 'output_dir', 'job_id'] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];

/** Variables Polar sets itself; a trainer's own environment cannot name them. */
export const RESERVED_ENV = /^POLAR_/;
/** POSIX-portable variable names. */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

const TOKEN = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Placeholders of an argument that Polar does not know (a typo would reach the trainer verbatim). */
export function unknownPlaceholders(arg: string): string[] {
  const known = new Set<string>(PLACEHOLDERS);
  return [...arg.matchAll(TOKEN)].map((m) => m[1] as string).filter((n) => !known.has(n));
}

/** The arguments of one run: each placeholder replaced by its value, everything else verbatim. */
export function renderArgs(template: readonly string[], values: Record<Placeholder, string>): string[] {
  return template.map((arg) =>
    arg.replace(TOKEN, (whole, name: string) =>
      Object.hasOwn(values, name) ? values[name as Placeholder] : whole,
    ),
  );
}

/**
 * What the trainer process sees: enough of the worker's environment to find programs and locales
 * (never its secrets: no database URL, no master key), the admin-set variables, then the contract's.
 */
export function trainerEnv(
  host: NodeJS.ProcessEnv,
  own: Record<string, string>,
  inputs: {
    datasetPath: string;
    datasetFormat: string;
    paramsPath: string;
    outputDir: string;
    jobId: string;
    attempt: number;
  },
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'SYSTEMROOT']) {
    const v = host[k];
    if (v !== undefined) env[k] = v;
  }
  for (const [k, v] of Object.entries(own)) if (!RESERVED_ENV.test(k)) env[k] = v;
  env.POLAR_DATASET_PATH = inputs.datasetPath;
  env.POLAR_DATASET_FORMAT = inputs.datasetFormat;
  env.POLAR_PARAMS_PATH = inputs.paramsPath;
  env.POLAR_OUTPUT_DIR = inputs.outputDir;
  env.POLAR_JOB_ID = inputs.jobId;
  env.POLAR_ATTEMPT = String(inputs.attempt);
  return env;
}

export type Report =
  | { type: 'progress'; fraction: number }
  | { type: 'metric'; name: string; value: number; step: number }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string }
  | { type: 'metrics'; metrics: Record<string, unknown> }
  | { type: 'error'; message: string; permanent: boolean };

const LEVELS = new Set(['info', 'warn', 'error']);
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * One line of standard output as a report. Lines that are not a JSON object, or an object of none
 * of the shapes above, are log lines: a trainer's ordinary prints must not be lost or fail the job.
 */
export function parseReport(line: string, maxLength: number): Report {
  const asLog: Report = { type: 'log', level: 'info', message: line.slice(0, maxLength) };
  if (!line.startsWith('{')) return asLog;
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return asLog;
  }
  if (!isObject(v)) return asLog;
  if (typeof v.progress === 'number' && Number.isFinite(v.progress))
    return { type: 'progress', fraction: Math.min(1, Math.max(0, v.progress)) };
  if (typeof v.metric === 'string' && typeof v.value === 'number' && Number.isFinite(v.value)) {
    const step = typeof v.step === 'number' && Number.isFinite(v.step) ? Math.trunc(v.step) : 0;
    return { type: 'metric', name: v.metric.slice(0, 200), value: v.value, step };
  }
  if (typeof v.log === 'string') {
    const level = typeof v.level === 'string' && LEVELS.has(v.level) ? (v.level as 'info') : 'info';
    return { type: 'log', level, message: v.log.slice(0, maxLength) };
  }
  if (isObject(v.metrics)) return { type: 'metrics', metrics: v.metrics };
  if (typeof v.error === 'string')
    return { type: 'error', message: v.error.slice(0, maxLength), permanent: v.permanent === true };
  return asLog;
}

/** Splits a byte stream into lines, bounding a line that never ends. */
export function lineSplitter(maxLength: number, onLine: (line: string) => void) {
  let rest = '';
  return {
    push(chunk: string) {
      const parts = (rest + chunk).split('\n');
      rest = parts.pop() ?? '';
      if (rest.length > maxLength * 4) {
        parts.push(rest);
        rest = '';
      }
      for (const p of parts) {
        const line = p.trimEnd();
        if (line) onLine(line);
      }
    },
    end() {
      const line = rest.trimEnd();
      rest = '';
      if (line) onLine(line);
    },
  };
}
