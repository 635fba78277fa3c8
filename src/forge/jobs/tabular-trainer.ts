import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PIPELINE_FILE } from '../../core/runtimes/tabular/contract.js';
import { readFrame } from '../datasets/frame-reader.js';
import type { DatasetFormat, SchemaColumn } from '../datasets/tables.js';
import { trainPipeline } from '../pipelines/train.js';
import type { Trainer } from '../workers/protocol.js';

/** Share of the progress bar reading the dataset takes; fitting and evaluating take the rest. */
const READ_SHARE = 0.05;

/**
 * The trainer of tabular pipeline jobs, run in a child process: reads the dataset version's file,
 * fits the spec's steps (Forge's calculators) and writes the fitted pipeline as pipeline.json, the
 * `polar-tabular` document the tabular runtime serves with the same appliers.
 */
export const trainer: Trainer = {
  async run(job, ctx) {
    const { spec, dataset } = job;
    ctx.log(`Reading ${dataset.rows} rows (${dataset.format})`);
    const frame = await readFrame(
      dataset.path,
      dataset.format as DatasetFormat,
      dataset.schema as readonly SchemaColumn[],
    );
    ctx.progress(READ_SHARE);
    const result = await trainPipeline(
      frame,
      {
        target: spec.target,
        task: spec.task,
        features: spec.features,
        steps: spec.steps,
        evaluation: spec.evaluation,
      },
      {
        seed: spec.evaluation.seed,
        signal: ctx.signal,
        progress: (f) => ctx.progress(READ_SHARE + (1 - READ_SHARE) * f),
        metric: (name, value, step) => ctx.metric(name, value, step),
        log: (message) => ctx.log(message),
      },
    );
    await writeFile(join(job.outputDir, PIPELINE_FILE), JSON.stringify(result.pipeline));
    const e = result.evaluation;
    ctx.log(
      `Evaluated on ${e.test_rows} ${e.evaluated_on === 'test' ? 'held-out' : 'training'} rows (trained on ${e.train_rows})`,
    );
    return { metrics: { ...result.metrics, ...e } };
  },
};
