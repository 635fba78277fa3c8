import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { RuntimeError, type RuntimeModule } from '../types.js';
import {
  type ApplierRegistry,
  type ModelApplier,
  PIPELINE_FILE,
  type PipelineCompiler,
  type Row,
  type TransformApplier,
  tabularPipeline,
} from './contract.js';

const loadConfig = z.strictObject({
  parallel: z.number().int().min(1).max(8).default(2),
  max_batch: z.number().int().min(1).max(1_000_000).default(100_000),
});

/** A compiler over row appliers: each step's applier runs on the rows in turn, the model last. */
export function rowCompiler(appliers: ApplierRegistry): PipelineCompiler {
  return (pipeline) => {
    const steps = pipeline.steps.map((s, i) => {
      const a = appliers.get(s.type);
      if (!a)
        throw new RuntimeError(
          'unknown_step',
          `step ${i + 1} has type '${s.type}', which no applier provides`,
          422,
        );
      const last = i === pipeline.steps.length - 1;
      if (last !== (a.kind === 'model'))
        throw new RuntimeError(
          'invalid_artifact',
          `step ${i + 1} ('${s.type}'): only the last step may be a model`,
          422,
        );
      return { applier: a, params: s.params };
    });
    const transforms = steps.slice(0, -1) as { applier: TransformApplier; params: unknown }[];
    const model = steps.at(-1) as { applier: ModelApplier; params: unknown };
    return {
      predict(rows) {
        let data: Row[] = rows;
        for (const t of transforms) data = t.applier.apply(data, t.params);
        return model.applier.predict(data, model.params);
      },
    };
  };
}

/**
 * The tabular runtime over a pipeline compiler: reads and checks pipeline.json, compiles it once at
 * load, and checks batch size and required features before each predict. Pipelines are plain
 * JavaScript, fast for the batch sizes predict takes; heavy batches still run in the model's own
 * host process.
 */
export function createCompiledTabularRuntime(compile: PipelineCompiler): RuntimeModule {
  return {
    async load(spec) {
      const cfg = loadConfig.safeParse(spec.config);
      if (!cfg.success)
        throw new RuntimeError(
          'invalid_load_config',
          cfg.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
        );
      const file = spec.files.find((f) => f.path === PIPELINE_FILE);
      if (!file)
        throw new RuntimeError('invalid_artifact', `a polar-tabular version needs ${PIPELINE_FILE}`, 422);
      let raw: unknown;
      try {
        raw = JSON.parse(await readFile(join(spec.dir, PIPELINE_FILE), 'utf8'));
      } catch {
        throw new RuntimeError('invalid_artifact', `${PIPELINE_FILE} is not valid JSON`, 422);
      }
      const parsed = tabularPipeline.safeParse(raw);
      if (!parsed.success)
        throw new RuntimeError(
          'invalid_artifact',
          `${PIPELINE_FILE}: ${parsed.error.issues[0]?.message}`,
          422,
        );
      const pipeline = parsed.data;
      const compiled = compile(pipeline);
      const required = pipeline.features.filter((f) => f.required).map((f) => f.name);
      return {
        capabilities: {
          generate: false,
          chat: false,
          embed: false,
          predict: true,
          beamSearch: false,
          parallel: cfg.data.parallel,
        },
        async predict(rows) {
          if (rows.length > cfg.data.max_batch)
            throw new RuntimeError('batch_too_large', `at most ${cfg.data.max_batch} rows per request`, 413);
          rows.forEach((r, i) => {
            for (const name of required)
              if (r[name] === undefined || r[name] === null)
                throw new RuntimeError('invalid_input', `row ${i}: '${name}' is required`);
          });
          return compiled.predict(rows);
        },
        async unload() {},
      };
    },
  };
}

/** The tabular runtime over a set of row appliers. */
export function createTabularRuntime(appliers: ApplierRegistry): RuntimeModule {
  return createCompiledTabularRuntime(rowCompiler(appliers));
}
