import type { Command } from 'commander';
import type { RuntimeView } from '../../core/serving/schema.js';
import type { ApiClient } from '../client.js';
import { type CliContext, clientOf, print } from '../context.js';
import { UsageError } from '../errors.js';
import { bytes, type Column, table } from '../output.js';
import { duration } from '../progress.js';
import { intOption, parseAssignments } from '../values.js';
import { modelPath } from './models.js';

/** A load reads and maps the whole weights file, and may first wait for other models to unload. */
const LOAD_TIMEOUT_MS = 15 * 60_000;
/** The API's bound on keep-alive (30 days); -1 keeps the model until it is unloaded. */
const MAX_KEEP_ALIVE = 30 * 86_400;

interface LoadResult {
  message: string;
  model_id: string;
  version: number;
  runtime: string;
  loaded_at: string;
  memory_bytes: number;
}

interface UnloadResult {
  message: string;
  model_id: string;
  versions_unloaded: number;
}

type RuntimeEntry = RuntimeView['models'][number];

/**
 * `name`, `name:3` or `name@staging`, as the API spells a model reference (model names never hold
 * ':' or '@'). The version and alias may also come as flags, but not both ways at once.
 */
export function parseModelRef(
  ref: string,
  flags: { version?: number | undefined; alias?: string | undefined } = {},
): { model: string; version?: number; alias?: string } {
  const m = /^([^:@]+)(?::(\d+)|@([^:@]+))?$/.exec(ref);
  if (!m) throw new UsageError(`'${ref}' is not a model reference (name, name:version or name@alias)`);
  const [, model, v, alias] = m;
  const version = v === undefined ? undefined : Number(v);
  if (
    (version !== undefined || alias !== undefined) &&
    (flags.version !== undefined || flags.alias !== undefined)
  )
    throw new UsageError(`'${ref}' already names a version or alias; drop --model-version/--alias`);
  if (flags.version !== undefined && flags.alias !== undefined)
    throw new UsageError('Give --model-version or --alias, not both');
  const chosenVersion = version ?? flags.version;
  const chosenAlias = alias ?? flags.alias;
  return {
    model: model!,
    ...(chosenVersion !== undefined ? { version: chosenVersion } : {}),
    ...(chosenAlias !== undefined ? { alias: chosenAlias } : {}),
  };
}

/** POST with the answer parsed as JSON, under a longer bound than ordinary API calls. */
async function postSlow<T>(client: ApiClient, path: string, body: unknown, timeoutMs: number): Promise<T> {
  const res = await client.raw('POST', path, {
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
    timeoutMs,
  });
  return (await res.json()) as T;
}

/** `in 4m30s` while idle with a keep-alive, `never` for models kept until unloaded, `-` while busy. */
export function expiresIn(e: RuntimeEntry, now = Date.now()): string {
  if (e.expires_at) return `in ${duration(Math.max(0, (Date.parse(e.expires_at) - now) / 1000))}`;
  if (e.keep_alive < 0) return 'never';
  return '-';
}

const psColumns: Column<RuntimeEntry>[] = [
  { header: 'model', value: (e) => e.name },
  { header: 'version', value: (e) => `v${e.version}` },
  { header: 'runtime', value: (e) => e.runtime },
  { header: 'status', value: (e) => e.status },
  { header: 'memory', value: (e) => (e.memory_bytes > 0 ? bytes(e.memory_bytes) : '-') },
  { header: 'active/queued', value: (e) => `${e.active}/${e.queued}` },
  { header: 'expires', value: (e) => expiresIn(e) },
];

function psText(view: RuntimeView): string {
  const lines = [table(view.models, psColumns)];
  for (const e of view.models) {
    if (e.status === 'error' && e.error) lines.push(`${e.name} v${e.version}: ${e.error}`);
  }
  if (view.models.length > 0) {
    const budget = view.policy.memory_budget_mb > 0 ? ` of ${view.policy.memory_budget_mb} MB budget` : '';
    lines.push(
      '',
      `Memory: ${bytes(view.memory_bytes)}${budget}; at most ${view.policy.max_loaded_models} loaded.`,
    );
  }
  return lines.join('\n');
}

const keepAliveOption = (raw: string) => intOption(-1, MAX_KEEP_ALIVE)(raw);

export function registerServing(program: Command, ctx: CliContext) {
  program
    .command('load')
    .description('Load a model version into memory so it serves at once (waits until it is loaded)')
    .argument('<model>', 'id or name; name:version or name@alias picks the version')
    // `--version` is taken by `polar --version` on every command line, hence the longer name.
    .option('-v, --model-version <n>', 'the version to load (default: production, else newest)', intOption(1))
    .option('--alias <alias>', 'load the version this alias points at')
    .option('--keep-alive <seconds>', 'stay loaded this long when idle (-1: until unloaded)', keepAliveOption)
    .option('--config <key=value...>', 'runtime options, e.g. context_size=2048 threads=4 (values as JSON)')
    .option('--allow-retired', 'load a retired version anyway')
    .action(
      async (
        ref: string,
        opts: {
          modelVersion?: number;
          alias?: string;
          keepAlive?: number;
          config?: string[];
          allowRetired?: boolean;
        },
        cmd: Command,
      ) => {
        const target = parseModelRef(ref, { version: opts.modelVersion, alias: opts.alias });
        const body = {
          ...(target.version !== undefined ? { version: target.version } : {}),
          ...(target.alias !== undefined ? { alias: target.alias } : {}),
          ...(opts.config ? { config: parseAssignments(opts.config) } : {}),
          ...(opts.keepAlive !== undefined ? { keep_alive: opts.keepAlive } : {}),
          ...(opts.allowRetired ? { allow_retired: true } : {}),
        };
        const client = await clientOf(ctx, cmd);
        const started = performance.now();
        const r = await postSlow<LoadResult>(
          client,
          `${modelPath(target.model)}/load`,
          body,
          LOAD_TIMEOUT_MS,
        );
        const seconds = (performance.now() - started) / 1000;
        print(
          ctx,
          cmd,
          r,
          (a) =>
            `Loaded ${target.model} version ${a.version} (${a.runtime}, ${bytes(a.memory_bytes)}) in ${seconds.toFixed(1)} s.`,
        );
      },
    );

  program
    .command('unload')
    .description('Unload a model from memory (every loaded version, or one)')
    .argument('<model>', 'id or name; name:version unloads that version only')
    .option('-v, --model-version <n>', 'only this version', intOption(1))
    .action(async (ref: string, opts: { modelVersion?: number }, cmd: Command) => {
      const target = parseModelRef(ref, { version: opts.modelVersion });
      if (target.alias !== undefined) throw new UsageError('unload takes a version, not an alias');
      const client = await clientOf(ctx, cmd);
      const r = await postSlow<UnloadResult>(
        client,
        `${modelPath(target.model)}/unload`,
        target.version !== undefined ? { version: target.version } : {},
        LOAD_TIMEOUT_MS,
      );
      print(ctx, cmd, r, (a) =>
        a.versions_unloaded > 0
          ? `Unloaded ${target.model} (${a.versions_unloaded} version${a.versions_unloaded > 1 ? 's' : ''}).`
          : `${target.model} was not loaded.`,
      );
    });

  program
    .command('ps')
    .description('Loaded models: version, runtime, memory, requests and when keep-alive unloads them')
    .action(async (_opts: unknown, cmd: Command) => {
      const client = await clientOf(ctx, cmd);
      print(ctx, cmd, await client.get<RuntimeView>('/api/v1/runtime'), psText);
    });
}
