import { createReadStream } from 'node:fs';
import { lstat, open, readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { detectFileFormat, SNIFF_BYTES, versionFormat } from '../../core/registry/format.js';
import type { Registry } from '../../core/registry/index.js';
import { PIPELINE_FILE, tabularPipeline } from '../../core/runtimes/tabular/contract.js';
import type { RequestContext } from '../../hub/auth/principal.js';
import { AppError } from '../../platform/errors.js';
import { type TrainingSpec, targetModelName } from '../jobs/spec.js';
import type { JobResult } from '../jobs/tables.js';
import type { ResolvedTrainer } from './service.js';

/** Files one version may hold; a trainer that writes more is refused rather than stored. */
const MAX_FILES = 1000;
/** Written by the job runner beside a finished trainer's outputs; not an output itself. */
const RUNNER_FILES = new Set(['done.json']);

const badOutput = (message: string) => new AppError(422, 'invalid_trainer_output', message);

async function listFiles(root: string): Promise<{ path: string; abs: string; size: number }[]> {
  const out: { path: string; abs: string; size: number }[] = [];
  const walk = async (dir: string) => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const abs = join(dir, e.name);
      const rel = relative(root, abs).split(sep).join('/');
      if (dir === root && RUNNER_FILES.has(e.name)) continue;
      // A link could point anywhere on the worker's machine: only regular files become a version.
      const st = await lstat(abs);
      if (st.isSymbolicLink()) throw badOutput(`${rel} is a symbolic link; write regular files`);
      if (st.isDirectory()) await walk(abs);
      else if (st.isFile()) {
        out.push({ path: rel, abs, size: st.size });
        if (out.length > MAX_FILES) throw badOutput(`more than ${MAX_FILES} files in the output directory`);
      }
    }
  };
  await walk(root);
  return out.sort((a, b) => (a.path < b.path ? -1 : 1));
}

async function head(file: string, size: number): Promise<Uint8Array> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(Math.min(size, SNIFF_BYTES));
    await fh.read(buf, 0, buf.length, 0);
    return buf;
  } finally {
    await fh.close();
  }
}

/** Checks the files against the format the trainer promises, before anything is stored. */
async function checkFormat(
  files: { path: string; abs: string; size: number }[],
  expected: ResolvedTrainer['outputFormat'],
): Promise<void> {
  if (expected === 'auto') return;
  if (expected === 'polar-tabular') {
    const f = files.find((x) => x.path === PIPELINE_FILE);
    if (!f) throw badOutput(`a polar-tabular trainer must write ${PIPELINE_FILE}`);
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(f.abs, 'utf8'));
    } catch {
      throw badOutput(`${PIPELINE_FILE} is not JSON`);
    }
    const r = tabularPipeline.safeParse(raw);
    if (!r.success)
      throw badOutput(
        `${PIPELINE_FILE}: ${r.error.issues[0]?.path.join('.')}: ${r.error.issues[0]?.message}`,
      );
    return;
  }
  const typed = await Promise.all(
    files.map(async (f) => ({ path: f.path, format: detectFileFormat(await head(f.abs, f.size), f.path) })),
  );
  const found = versionFormat(typed);
  if (found !== expected) throw badOutput(`the trainer promises ${expected} output but wrote ${found}`);
}

/**
 * Registers what an external trainer left in its output directory as one version of the job's
 * target model: every regular file, its format detected by the registry (and checked against the
 * trainer's promise first), with the job and dataset version as lineage. The registry answers the
 * version a job already made, so a rerun after a lost worker registers nothing twice.
 */
export async function registerOutputs(
  registry: Registry,
  ctx: RequestContext,
  trainer: ResolvedTrainer,
  input: {
    jobId: string;
    spec: TrainingSpec;
    datasetId: string;
    outputDir: string;
    metrics: Record<string, unknown>;
  },
): Promise<JobResult> {
  const files = await listFiles(input.outputDir);
  if (files.length === 0) throw badOutput(`trainer ${trainer.name} wrote no file into its output directory`);
  const total = files.reduce((n, f) => n + f.size, 0);
  if (total > registry.maxUploadBytes)
    throw badOutput(
      `the outputs take ${total} bytes, over the ${registry.maxUploadBytes} a version may hold`,
    );
  await checkFormat(files, trainer.outputFormat);
  const name = targetModelName(input.spec);
  try {
    await registry.models.create(ctx, {
      name,
      task: trainer.task ?? (input.spec.task === 'clustering' ? 'other' : input.spec.task),
      description: input.spec.description || `Trained by job ${input.spec.name} with trainer ${trainer.name}`,
      tags: ['forge', `trainer:${trainer.name}`.slice(0, 64)],
      visibility: 'internal',
    });
  } catch (err) {
    // Training into an existing model adds a version to it, when the owner may write to it.
    if (!(err instanceof AppError && err.code === 'model_name_taken')) throw err;
  }
  const stored: { path: string; size: number; sha256: string }[] = [];
  for (const f of files) {
    const put = await registry.store.put(createReadStream(f.abs));
    stored.push({ path: f.path, size: put.size, sha256: put.sha256 });
  }
  const { modelId, version } = await registry.versions.registerStored(ctx, name, {
    files: stored,
    source: `forge:job/${input.jobId}`,
    lineage: { job_id: input.jobId, dataset_version: `${input.datasetId}@${input.spec.dataset_version}` },
    metrics: input.metrics,
    ...(trainer.outputFormat === 'polar-tabular' ? { format: 'polar-tabular' as const } : {}),
  });
  return { model_id: modelId, model_name: name, version: version.version };
}
