import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { TrainingJob } from '../../forge/jobs/schema.js';
import { type CliContext, clientOf, globalsOf, print } from '../context.js';
import { UsageError } from '../errors.js';
import { datasetVersionOption, latestDatasetVersion } from './datasets.js';
import { followTraining, formatLogLine, reportOutcome, TRAINING } from './training-follow.js';

/** A spec file as a JSON object; the node checks its fields (and names the bad ones) at dispatch. */
export async function readSpec(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(
      code === 'ENOENT' ? `No such file: ${path}` : `Cannot read ${path}: ${(err as Error).message}`,
    );
  }
  let spec: unknown;
  try {
    spec = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec))
    throw new UsageError(`${path} must hold one JSON object (a training spec)`);
  return spec as Record<string, unknown>;
}

interface TrainOptions {
  spec: string;
  follow?: boolean;
  dataset?: string;
  datasetVersion?: number;
  cancelOnInterrupt?: boolean;
}

export function registerTrain(program: Command, ctx: CliContext) {
  program
    .command('train')
    .description('Dispatch a training job from a spec file; --follow shows its progress and logs live')
    .requiredOption('--spec <file>', 'the training spec, a JSON file (as POST /training/dispatch takes)')
    .option('-f, --follow', 'stay until the job ends: status line, log lines, then the registered model')
    .option('--dataset <dataset>', "train on this dataset (id or name) instead of the spec's")
    .option(
      '-v, --dataset-version <n>',
      'this dataset version (default: the spec’s, else the newest)',
      datasetVersionOption,
    )
    .option('--cancel-on-interrupt', 'with --follow, Ctrl-C cancels the job instead of leaving it running')
    .action(async (opts: TrainOptions, cmd: Command) => {
      if (opts.cancelOnInterrupt && !opts.follow)
        throw new UsageError('--cancel-on-interrupt applies to --follow only');
      const spec = await readSpec(opts.spec);
      const client = await clientOf(ctx, cmd);
      const asJson = globalsOf(ctx, cmd).json === true;
      if (opts.dataset !== undefined) {
        spec.dataset_id = opts.dataset;
        delete spec.dataset_version;
      }
      if (opts.datasetVersion !== undefined) spec.dataset_version = opts.datasetVersion;
      // A spec may leave the version out to mean the newest; it is pinned here, so the job (and its
      // lineage) names the exact version trained on.
      if (typeof spec.dataset_id === 'string' && spec.dataset_version === undefined) {
        spec.dataset_version = await latestDatasetVersion(client, spec.dataset_id);
        if (!asJson) ctx.err(`Training on dataset ${spec.dataset_id} version ${spec.dataset_version}.`);
      }
      const job = await client.post<TrainingJob>(`${TRAINING}/dispatch`, spec);
      if (!opts.follow) {
        print(
          ctx,
          cmd,
          job,
          (j) =>
            `Dispatched training job ${j.job_id} (${j.name}, ${j.state}). ` +
            `Follow it with \`polar jobs logs ${j.job_id} --follow\`.`,
        );
        return;
      }
      if (!asJson) ctx.err(`Dispatched training job ${job.job_id} (${job.name}).`);
      const last = await followTraining(ctx, client, job, {
        progress: !asJson,
        json: asJson,
        cancelOnInterrupt: opts.cancelOnInterrupt === true,
        ...(asJson ? {} : { onLog: (l) => ctx.err(formatLogLine(l)) }),
      });
      reportOutcome(ctx, last, asJson);
    });
}
