import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { type Command, Option } from 'commander';
import type {
  DatasetDetail,
  DatasetSummary,
  PreviewView,
  UploadResult,
  VersionDetail,
  VersionSummary,
} from '../../forge/datasets/schema.js';
import type { ApiClient, Page } from '../client.js';
import { type CliContext, clientOf, globalsOf, nextPageHint, print } from '../context.js';
import { UsageError } from '../errors.js';
import { bytes, type Column, fields, table, time } from '../output.js';
import { meter, ProgressReporter } from '../progress.js';
import { collectUploadFiles, multipartBody } from '../transfer.js';
import { intOption } from '../values.js';
import { TRANSFER_TIMEOUT_MS } from './model-versions.js';
import { metricValue } from './training-follow.js';

const DATASETS = '/api/v1/datasets';
/** A dataset's id or name as a path segment (names may hold '.'). */
export const datasetPath = (ref: string) => `${DATASETS}/${encodeURIComponent(ref)}`;

export const datasetVersionOption = intOption(1, 2_147_483_647);

/** The newest version of a dataset, for commands and specs that name a dataset but no version. */
export async function latestDatasetVersion(client: ApiClient, dataset: string): Promise<number> {
  const d = await client.get<DatasetDetail>(datasetPath(dataset));
  if (!d.latest_version) throw new UsageError(`Dataset ${dataset} has no version yet`);
  return d.latest_version.version;
}

type Stats = DatasetDetail['stats']['columns'][number];

const cell = (v: unknown): string =>
  v === null || v === undefined ? '' : typeof v === 'string' ? v : metricValue(v);

const datasetColumns: Column<DatasetSummary>[] = [
  { header: 'name', value: (d) => d.name },
  { header: 'latest', value: (d) => (d.latest_version ? `v${d.latest_version.version}` : '-') },
  { header: 'rows', value: (d) => (d.latest_version ? String(d.latest_version.rows) : '-') },
  { header: 'cols', value: (d) => (d.latest_version ? String(d.latest_version.column_count) : '-') },
  { header: 'format', value: (d) => d.latest_version?.format ?? '-' },
  { header: 'size', value: (d) => bytes(d.latest_version?.size) },
  { header: 'visibility', value: (d) => d.visibility },
  { header: 'updated', value: (d) => time(d.updated_at) },
  { header: 'id', value: (d) => d.id },
];

const versionColumns: Column<VersionSummary>[] = [
  { header: 'version', value: (v) => String(v.version) },
  { header: 'rows', value: (v) => String(v.rows) },
  { header: 'cols', value: (v) => String(v.column_count) },
  { header: 'format', value: (v) => `${v.format}${v.kind === 'chat' ? ' (chat)' : ''}` },
  { header: 'size', value: (v) => bytes(v.size) },
  { header: 'file', value: (v) => v.source_filename },
  { header: 'sha256', value: (v) => v.sha256.slice(0, 12) },
  { header: 'created', value: (v) => time(v.created_at) },
];

const top = (s: Stats) =>
  s.top?.length
    ? s.top.map((t) => `${t.value} (${t.count})`).join(', ')
    : s.true_count !== undefined
      ? `true (${s.true_count}), false (${s.false_count ?? 0})`
      : '';

const statsColumns: Column<Stats>[] = [
  { header: 'column', value: (s) => s.name },
  { header: 'type', value: (s) => s.type },
  { header: 'missing', value: (s) => String(s.missing) },
  { header: 'distinct', value: (s) => `${s.distinct_exact ? '' : '~'}${s.distinct}` },
  { header: 'min', value: (s) => cell(s.min) || '-' },
  { header: 'max', value: (s) => cell(s.max) || '-' },
  { header: 'mean', value: (s) => cell(s.mean) || '-' },
  { header: 'top', value: (s) => top(s) || '-' },
];

const datasetFields = (d: DatasetDetail) =>
  fields([
    ['id', d.id],
    ['name', d.name],
    ['description', d.description || '-'],
    ['visibility', d.visibility],
    ['owner', d.owner_id ?? '-'],
    ['versions', String(d.version_count)],
    ['created', time(d.created_at)],
    ['updated', time(d.updated_at)],
  ]);

const datasetDetail = (d: DatasetDetail) =>
  [
    datasetFields(d),
    `Versions:\n${table(d.versions, versionColumns)}`,
    d.latest_version
      ? `Columns (v${d.latest_version.version}):\n${table(d.stats.columns, statsColumns)}`
      : '',
  ]
    .filter(Boolean)
    .join('\n\n');

const versionDetail = (v: VersionDetail) =>
  [
    fields([
      ['dataset', v.dataset_id],
      ['version', String(v.version)],
      ['format', `${v.format} (${v.kind})`],
      ['rows', String(v.rows)],
      ['columns', String(v.column_count)],
      ['size', bytes(v.size)],
      ['file', v.source_filename],
      ['sha256', v.sha256],
      ['created', time(v.created_at)],
    ]),
    `Columns:\n${table(v.stats.columns, statsColumns)}`,
  ].join('\n\n');

const uploaded = (r: UploadResult) =>
  `Uploaded ${r.name} version ${r.version.version}: ${r.version.rows} rows × ${r.version.column_count} columns ` +
  `(${r.version.format}${r.version.kind === 'chat' ? ', chat' : ''}, ${bytes(r.version.size)}), id ${r.id}.\n` +
  table(r.version.schema, [
    { header: 'column', value: (c) => c.name },
    { header: 'type', value: (c) => c.type },
    { header: 'missing', value: (c) => String(c.missing) },
  ]);

/** `churn.csv` → `churn`: a dataset is named after its file unless --name says otherwise. */
export const nameFromFile = (path: string) => basename(path, extname(path));

interface UploadOptions {
  name?: string;
  description?: string;
  shared?: boolean;
  to?: string;
}

async function upload(ctx: CliContext, cmd: Command, file: string, opts: UploadOptions) {
  if (opts.to !== undefined && (opts.name ?? opts.description ?? opts.shared) !== undefined)
    throw new UsageError('--to adds a version; --name, --description and --shared are for a new dataset');
  const [f, ...more] = await collectUploadFiles([file]);
  if (!f || more.length > 0 || f.path !== file) throw new UsageError(`${file} is a directory: give one file`);
  const form: Record<string, string> = {};
  if (opts.to === undefined) {
    form.name = opts.name ?? nameFromFile(file);
    if (opts.description !== undefined) form.description = opts.description;
    if (opts.shared) form.visibility = 'shared';
  }
  const client = await clientOf(ctx, cmd);
  const progress = new ProgressReporter(ctx, {
    quiet: globalsOf(ctx, cmd).json === true || ctx.stderr?.isTTY !== true,
  });
  const rate = meter();
  let done = 0;
  const body = multipartBody(form, [f], (n) => {
    done += n;
    progress.update({ label: f.name, done, total: f.size, ...rate(done, f.size) }, done === f.size);
  });
  let result: UploadResult;
  try {
    const path = opts.to === undefined ? DATASETS : `${datasetPath(opts.to)}/versions`;
    const res = await client.raw('POST', path, {
      body: body.stream,
      headers: { 'content-type': body.contentType, 'content-length': String(body.length) },
      timeoutMs: TRANSFER_TIMEOUT_MS,
    });
    result = (await res.json()) as UploadResult;
  } finally {
    progress.finish();
  }
  print(ctx, cmd, result, uploaded);
}

/** Writes an export to standard output as it arrives, at the pace the reader takes it. */
async function toStdout(ctx: CliContext, body: ReadableStream<Uint8Array>) {
  const out = ctx.stdout;
  const source = Readable.fromWeb(body as WebReadableStream<Uint8Array>);
  if (out instanceof Writable) {
    try {
      await pipeline(source, out, { end: false });
    } catch (err) {
      // The reader left early (`| head`): what it wanted, not a failure.
      if ((err as NodeJS.ErrnoException).code !== 'EPIPE') throw err;
    }
    return;
  }
  // Without a process stream (tests, output captured by the shell) the text goes out as it is.
  const decoder = new TextDecoder();
  let text = '';
  for await (const chunk of source) text += decoder.decode(chunk as Buffer, { stream: true });
  text += decoder.decode();
  if (out) out.write(text);
  else ctx.out(text.replace(/\n$/, ''));
}

async function exportVersion(
  ctx: CliContext,
  client: ApiClient,
  ref: string,
  opts: { datasetVersion?: number; format: string; output?: string },
) {
  const version = opts.datasetVersion ?? (await latestDatasetVersion(client, ref));
  const res = await client.raw('GET', `${datasetPath(ref)}/versions/${version}/export`, {
    query: { format: opts.format },
    headers: { accept: '*/*' },
    timeoutMs: TRANSFER_TIMEOUT_MS,
  });
  if (!res.body) throw new Error('The node sent an empty answer');
  if (opts.output === undefined) return toStdout(ctx, res.body);
  let written = 0;
  const counted = Readable.fromWeb(res.body as WebReadableStream<Uint8Array>);
  counted.on('data', (c: Buffer) => {
    written += c.length;
  });
  try {
    await pipeline(counted, createWriteStream(opts.output));
  } catch (err) {
    // Half an export looks like a whole one to whoever opens it next.
    await rm(opts.output, { force: true });
    throw err;
  }
  return { dataset: ref, version, format: opts.format, output: opts.output, bytes: written };
}

export function registerDatasets(program: Command, ctx: CliContext) {
  const datasets = program
    .command('datasets')
    .description('Datasets for training: upload CSV, JSON or JSON Lines files, inspect and export them');

  datasets
    .command('upload')
    .description('Upload a file as a new dataset (or, with --to, a new version of one), with a progress bar')
    .argument('<file>', 'CSV, a JSON array of objects, or JSON Lines (recognised by content)')
    .option('--name <name>', 'the dataset name (default: the file name without extension)')
    .option('-d, --description <text>', 'what the data is')
    .option('--shared', 'every developer may see and train on it (default: only you and admins)')
    .option('--to <dataset>', 'add a version to this dataset (id or name) instead of creating one')
    .action((file: string, opts: UploadOptions, cmd: Command) => upload(ctx, cmd, file, opts));

  datasets
    .command('ls')
    .alias('list')
    .description('List the datasets you may see')
    .option('-s, --search <text>', 'only names containing this text')
    .option('-n, --limit <n>', 'at most this many per page (1-200)', intOption(1, 200))
    .option('--cursor <cursor>', 'continue after a previous page')
    .option('--all-pages', 'follow the pages to the end')
    .action(
      async (
        opts: { search?: string; limit?: number; cursor?: string; allPages?: boolean },
        cmd: Command,
      ) => {
        const client = await clientOf(ctx, cmd);
        const query = { search: opts.search, limit: opts.limit };
        let page = await client.get<Page<DatasetSummary>>(DATASETS, { ...query, cursor: opts.cursor });
        if (opts.allPages) {
          const items = [...page.items];
          while (page.next_cursor) {
            page = await client.get<Page<DatasetSummary>>(DATASETS, { ...query, cursor: page.next_cursor });
            items.push(...page.items);
          }
          page = { items, next_cursor: null };
        }
        print(ctx, cmd, page, (p) => table(p.items, datasetColumns));
        nextPageHint(ctx, cmd, page.next_cursor);
      },
    );

  datasets
    .command('show')
    .alias('get')
    .description('Show a dataset: its versions and the columns of the newest (or of --dataset-version)')
    .argument('<dataset>', 'id or name')
    .option('-v, --dataset-version <n>', 'one version’s schema and statistics', datasetVersionOption)
    .action(async (ref: string, opts: { datasetVersion?: number }, cmd: Command) => {
      const client = await clientOf(ctx, cmd);
      if (opts.datasetVersion === undefined)
        print(ctx, cmd, await client.get<DatasetDetail>(datasetPath(ref)), datasetDetail);
      else
        print(
          ctx,
          cmd,
          await client.get<VersionDetail>(`${datasetPath(ref)}/versions/${opts.datasetVersion}`),
          versionDetail,
        );
    });

  datasets
    .command('preview')
    .description('The first rows of a dataset version')
    .argument('<dataset>', 'id or name')
    .option('-n, --limit <n>', 'how many rows (1-1000, default 20)', intOption(1, 1000), 20)
    .option('-v, --dataset-version <n>', 'this version (default: the newest)', datasetVersionOption)
    .action(async (ref: string, opts: { limit: number; datasetVersion?: number }, cmd: Command) => {
      const client = await clientOf(ctx, cmd);
      const p = await client.get<PreviewView>(`${datasetPath(ref)}/preview`, {
        limit: opts.limit,
        version: opts.datasetVersion,
      });
      print(ctx, cmd, p, (v) => {
        const columns = v.columns.map((c) => ({
          header: c.name,
          value: (r: Record<string, unknown>) => cell(r[c.name]),
        }));
        return `${table(v.rows, columns)}\n(${v.rows.length} of ${v.total_rows} rows, version ${v.version})`;
      });
    });

  datasets
    .command('export')
    .description('Download a version as CSV or JSON Lines, to a file or standard output')
    .argument('<dataset>', 'id or name')
    .addOption(new Option('--format <format>', 'file format').choices(['csv', 'jsonl']).default('csv'))
    .option('-v, --dataset-version <n>', 'this version (default: the newest)', datasetVersionOption)
    .option('-o, --output <file>', 'write here (default: standard output)')
    .action(
      async (
        ref: string,
        opts: { format: string; datasetVersion?: number; output?: string },
        cmd: Command,
      ) => {
        const client = await clientOf(ctx, cmd);
        const written = await exportVersion(ctx, client, ref, opts);
        if (written)
          print(
            ctx,
            cmd,
            written,
            (w) => `Wrote ${w.output} (${w.dataset} version ${w.version}, ${w.format}, ${bytes(w.bytes)}).`,
          );
      },
    );

  datasets
    .command('delete')
    .alias('rm')
    .description('Delete a dataset, all its versions and the files nothing else uses')
    .argument('<dataset>', 'id or name')
    .option('-y, --yes', 'do not ask for confirmation')
    .action(async (ref: string, opts: { yes?: boolean }, cmd: Command) => {
      const client = await clientOf(ctx, cmd);
      if (!opts.yes) {
        if (!ctx.prompter.interactive)
          throw new UsageError('Deleting needs --yes when input is not a terminal');
        const answer = await ctx.prompter.ask(`Delete dataset ${ref} and every version of it? [y/N] `);
        if (!/^y(es)?$/i.test(answer.trim())) throw new Error('Cancelled: the dataset was not deleted');
      }
      const answer = await client.delete<{ id: string; deleted: true; blobs_freed: number }>(
        datasetPath(ref),
      );
      print(ctx, cmd, answer, (a) => `Deleted dataset ${ref} (${a.blobs_freed} stored files freed).`);
    });
}
