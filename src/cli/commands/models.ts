import { type Command, Option } from 'commander';
import type { ModelDetail, ModelSummary, VersionView } from '../../core/registry/schema.js';
import type { Page } from '../client.js';
import { type CliContext, clientOf, nextPageHint, print } from '../context.js';
import { UsageError } from '../errors.js';
import { bytes, type Column, fields, table, time } from '../output.js';
import { intOption } from '../values.js';
import { registerModelVersions } from './model-versions.js';

/** A model's id or name as a path segment: names may hold '.', which must not read as a path. */
export const modelPath = (ref: string) => `/api/v1/models/${encodeURIComponent(ref)}`;

const aliasList = (aliases: Record<string, number>) =>
  Object.entries(aliases)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([alias, v]) => `${alias}→${v}`)
    .join(', ') || '-';

const modelColumns: Column<ModelSummary>[] = [
  { header: 'name', value: (m) => m.name },
  { header: 'task', value: (m) => m.task },
  { header: 'latest', value: (m) => (m.latest_version === null ? '-' : `v${m.latest_version}`) },
  { header: 'format', value: (m) => m.format ?? '-' },
  { header: 'size', value: (m) => bytes(m.size) },
  { header: 'aliases', value: (m) => aliasList(m.aliases) },
  { header: 'status', value: (m) => m.status },
  { header: 'id', value: (m) => m.id },
];

export const versionColumns: Column<VersionView>[] = [
  { header: 'version', value: (v) => String(v.version) },
  { header: 'format', value: (v) => v.format },
  { header: 'size', value: (v) => bytes(v.size) },
  { header: 'files', value: (v) => String(v.files.length) },
  { header: 'status', value: (v) => v.status },
  { header: 'source', value: (v) => (v.external ? `${v.external.provider}:${v.external.model}` : v.source) },
  { header: 'sha256', value: (v) => (v.sha256 ? v.sha256.slice(0, 12) : '-') },
  { header: 'created', value: (v) => time(v.created_at) },
];

const modelFields = (m: ModelSummary) =>
  fields([
    ['id', m.id],
    ['name', m.name],
    ['task', m.task],
    ['description', m.description || '-'],
    ['tags', m.tags.join(', ') || '-'],
    ['visibility', m.visibility],
    ['status', m.status],
    ['latest version', m.latest_version === null ? '-' : String(m.latest_version)],
    ['aliases', aliasList(m.aliases)],
    ['created', time(m.created_at)],
    ['updated', time(m.updated_at)],
  ]);

const modelDetail = (m: ModelDetail) =>
  `${modelFields(m)}\n\nVersions:\n${table([...m.versions].reverse(), versionColumns)}`;

interface ListOptions {
  search?: string;
  task?: string;
  tag?: string;
  limit?: number;
  cursor?: string;
  allPages?: boolean;
}

const tagOption = (raw: string, previous: string[] = []) => [...previous, raw];

export function registerModels(program: Command, ctx: CliContext) {
  const models = program.command('models').description('The model registry: models, versions and aliases');

  models
    .command('ls')
    .alias('list')
    .description('List and search models')
    .option('-s, --search <text>', 'only names or descriptions containing this text')
    .option('--task <task>', 'only models for this task (chat, embedding, ...)')
    .option('--tag <tag>', 'only models with this tag')
    .option('-n, --limit <n>', 'at most this many per page (1-200)', intOption(1, 200))
    .option('--cursor <cursor>', 'continue after a previous page')
    .option('--all-pages', 'follow the pages to the end')
    .action(async (opts: ListOptions, cmd: Command) => {
      const client = await clientOf(ctx, cmd);
      const query = { search: opts.search, task: opts.task, tag: opts.tag, limit: opts.limit };
      let page = await client.get<Page<ModelSummary>>('/api/v1/models', { ...query, cursor: opts.cursor });
      if (opts.allPages) {
        const items = [...page.items];
        while (page.next_cursor) {
          page = await client.get<Page<ModelSummary>>('/api/v1/models', {
            ...query,
            cursor: page.next_cursor,
          });
          items.push(...page.items);
        }
        page = { items, next_cursor: null };
      }
      print(ctx, cmd, page, (p) => table(p.items, modelColumns));
      nextPageHint(ctx, cmd, page.next_cursor);
    });

  models
    .command('show')
    .alias('get')
    .description('Show a model with its versions and aliases')
    .argument('<model>', 'id or name')
    .action(async (ref: string, _opts: unknown, cmd: Command) => {
      const client = await clientOf(ctx, cmd);
      print(ctx, cmd, await client.get<ModelDetail>(modelPath(ref)), modelDetail);
    });

  models
    .command('create')
    .description('Register a model (versions are added with `polar models upload`)')
    .argument('<name>', "letters, digits, '.', '_' and '-'")
    .requiredOption('--task <task>', 'chat, completion, embedding, ...')
    .option('-d, --description <text>', 'what the model is for')
    .option('--tag <tag>', 'a tag (repeatable)', tagOption)
    .option('--private', 'only you and admins can see it (default: every signed-in user)')
    .action(
      async (
        name: string,
        opts: { task: string; description?: string; tag?: string[]; private?: boolean },
        cmd: Command,
      ) => {
        const client = await clientOf(ctx, cmd);
        const created = await client.post<ModelDetail>('/api/v1/models', {
          name,
          task: opts.task,
          ...(opts.description !== undefined ? { description: opts.description } : {}),
          ...(opts.tag ? { tags: opts.tag } : {}),
          ...(opts.private ? { visibility: 'private' } : {}),
        });
        print(ctx, cmd, created, (m) => `Created model ${m.name} (${m.task}, ${m.visibility}, id ${m.id}).`);
      },
    );

  models
    .command('update')
    .description('Change a model’s name, task, description, tags or visibility')
    .argument('<model>', 'id or name')
    .option('--name <name>', 'a new name')
    .option('--task <task>', 'a new task')
    .option('-d, --description <text>', 'a new description')
    .option('--tag <tag>', 'the tags (repeatable; replaces all tags)', tagOption)
    .option('--no-tags', 'remove every tag')
    .addOption(new Option('--visibility <visibility>', 'who can see it').choices(['internal', 'private']))
    .action(
      async (
        ref: string,
        opts: {
          name?: string;
          task?: string;
          description?: string;
          tag?: string[];
          tags?: boolean;
          visibility?: string;
        },
        cmd: Command,
      ) => {
        const body: Record<string, unknown> = {};
        if (opts.name !== undefined) body.name = opts.name;
        if (opts.task !== undefined) body.task = opts.task;
        if (opts.description !== undefined) body.description = opts.description;
        if (opts.tag) body.tags = opts.tag;
        else if (opts.tags === false) body.tags = [];
        if (opts.visibility !== undefined) body.visibility = opts.visibility;
        if (Object.keys(body).length === 0)
          throw new UsageError(
            'Nothing to change: give --name, --task, --description, --tag or --visibility',
          );
        const client = await clientOf(ctx, cmd);
        const updated = await client.patch<ModelDetail>(modelPath(ref), body);
        print(ctx, cmd, updated, (m) => `Updated model ${m.name}.`);
      },
    );

  models
    .command('delete')
    .alias('rm')
    .description('Delete a model, all its versions and the files nothing else uses')
    .argument('<model>', 'id or name')
    .option('-y, --yes', 'do not ask for confirmation')
    .action(async (ref: string, opts: { yes?: boolean }, cmd: Command) => {
      const client = await clientOf(ctx, cmd);
      if (!opts.yes) {
        if (!ctx.prompter.interactive)
          throw new UsageError('Deleting needs --yes when input is not a terminal');
        const answer = await ctx.prompter.ask(`Delete model ${ref} and every version of it? [y/N] `);
        if (!/^y(es)?$/i.test(answer.trim())) throw new Error('Cancelled: the model was not deleted');
      }
      const answer = await client.delete<{ id: string; deleted: true; blobs_freed: number }>(modelPath(ref));
      print(ctx, cmd, answer, (a) => `Deleted model ${ref} (${a.blobs_freed} stored files freed).`);
    });

  registerModelVersions(models, ctx);
}
