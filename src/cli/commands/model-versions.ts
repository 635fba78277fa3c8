import { basename } from 'node:path';
import { type Command, Option } from 'commander';
import type { AliasHistoryEntry, AliasView, VersionView } from '../../core/registry/schema.js';
import type { Page } from '../client.js';
import { type CliContext, clientOf, globalsOf, nextPageHint, print } from '../context.js';
import { UsageError } from '../errors.js';
import { type Column, table, time } from '../output.js';
import { meter, ProgressReporter } from '../progress.js';
import { collectUploadFiles, multipartBody } from '../transfer.js';
import { intOption } from '../values.js';
import { downloadFile } from './model-download.js';
import { modelPath } from './models.js';

/** Uploads and downloads of large weights take as long as they take; a day means a stuck link. */
export const TRANSFER_TIMEOUT_MS = 24 * 60 * 60 * 1000;

const versionArg = intOption(1, 2_147_483_647);

/** A JSON object option (--metrics, --lineage), checked here so a typo costs no upload. */
function jsonObject(flag: string) {
  return (raw: string): string => {
    let v: unknown;
    try {
      v = JSON.parse(raw);
    } catch {
      throw new UsageError(`${flag} must be a JSON object, e.g. '{"accuracy": 0.91}'`);
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v))
      throw new UsageError(`${flag} must be a JSON object`);
    return raw;
  };
}

const aliasLine = (a: AliasView) =>
  a.version === null
    ? `Removed alias ${a.alias} (was v${a.previous_version ?? '-'}).`
    : `${a.alias} → v${a.version}${a.previous_version ? ` (was v${a.previous_version})` : ''}.`;

const historyColumns: Column<AliasHistoryEntry>[] = [
  { header: 'at', value: (h) => time(h.at) },
  { header: 'from', value: (h) => (h.from_version === null ? '-' : `v${h.from_version}`) },
  { header: 'to', value: (h) => (h.to_version === null ? '-' : `v${h.to_version}`) },
  { header: 'by', value: (h) => h.actor_name ?? h.actor_id ?? '-' },
  { header: 'reason', value: (h) => h.reason || '-' },
];

interface UploadOptions {
  source?: string;
  metrics?: string;
  lineage?: string;
  allowPickle?: boolean;
}

export function registerModelVersions(models: Command, ctx: CliContext) {
  models
    .command('upload')
    .description('Add a version from files; a directory adds every file below it by relative path')
    .argument('<model>', 'id or name')
    .argument('<paths...>', 'files and directories')
    .option('--source <text>', 'where the weights come from (default: upload)')
    .option('--metrics <json>', 'evaluation results, a JSON object', jsonObject('--metrics'))
    .option('--lineage <json>', '{"dataset_version", "job_id", "parent_version"}', jsonObject('--lineage'))
    .option('--allow-pickle', 'store pickle weights (.bin/.pt) when an admin allows it; never loaded')
    .action(async (ref: string, paths: string[], opts: UploadOptions, cmd: Command) => {
      const client = await clientOf(ctx, cmd);
      const files = await collectUploadFiles(paths);
      const fieldValues: Record<string, string> = {};
      if (opts.source !== undefined) fieldValues.source = opts.source;
      if (opts.lineage !== undefined) fieldValues.lineage = opts.lineage;
      if (opts.metrics !== undefined) fieldValues.metrics = opts.metrics;
      if (opts.allowPickle) fieldValues.allow_pickle = 'true';
      const total = files.reduce((n, f) => n + f.size, 0);
      const progress = new ProgressReporter(ctx, {
        quiet: globalsOf(ctx, cmd).json === true || ctx.stderr?.isTTY !== true,
      });
      const rate = meter();
      const label = files.length === 1 ? files[0]!.name : `${files.length} files`;
      let done = 0;
      const body = multipartBody(fieldValues, files, (n) => {
        done += n;
        progress.update({ label, done, total, ...rate(done, total) }, done === total);
      });
      let created: VersionView;
      try {
        const res = await client.raw('POST', `${modelPath(ref)}/versions`, {
          body: body.stream,
          headers: { 'content-type': body.contentType, 'content-length': String(body.length) },
          timeoutMs: TRANSFER_TIMEOUT_MS,
        });
        created = (await res.json()) as VersionView;
      } finally {
        progress.finish();
      }
      print(
        ctx,
        cmd,
        created,
        (v) =>
          `Added version ${v.version} of ${ref} (${v.format}, ${v.files.length} file(s), sha256 ${v.sha256}).`,
      );
    });

  models
    .command('download')
    .description("Download a version's file; an existing partial file is resumed")
    .argument('<model>', 'id or name')
    .argument('<version>', 'version number', versionArg)
    .argument('<path>', 'the file in the version (as `models show` lists it)')
    .option('-o, --output <file>', 'where to write it (default: the file name, here)')
    .action(async (ref: string, version: number, path: string, opts: { output?: string }, cmd: Command) => {
      const client = await clientOf(ctx, cmd);
      const result = await downloadFile(ctx, client, {
        modelPath: modelPath(ref),
        version,
        path,
        output: opts.output ?? basename(path),
        quiet: globalsOf(ctx, cmd).json === true || ctx.stderr?.isTTY !== true,
      });
      print(ctx, cmd, result, (r) =>
        r.skipped
          ? `${r.output} is already complete (sha256 ${r.sha256}).`
          : `Wrote ${r.output} (${r.resumed_from ? `resumed at byte ${r.resumed_from}, ` : ''}sha256 ${r.sha256}).`,
      );
    });

  const alias = models.command('alias').description('Aliases: names like production that point at a version');

  alias
    .command('set')
    .description('Point an alias at a version')
    .argument('<model>', 'id or name')
    .argument('<alias>', "lower-case letters, digits and '-'")
    .argument('<version>', 'version number', versionArg)
    .option('--reason <text>', 'why, kept in the history')
    .option('--expect <version>', 'refuse (409) unless the alias points at this version now', versionArg)
    .action(
      async (
        ref: string,
        name: string,
        version: number,
        opts: { reason?: string; expect?: number },
        cmd: Command,
      ) => {
        const client = await clientOf(ctx, cmd);
        const answer = await client.put<AliasView>(`${modelPath(ref)}/aliases/${encodeURIComponent(name)}`, {
          version,
          ...(opts.reason !== undefined ? { reason: opts.reason } : {}),
          ...(opts.expect !== undefined ? { expected_version: opts.expect } : {}),
        });
        print(ctx, cmd, answer, aliasLine);
      },
    );

  alias
    .command('history')
    .description("An alias's changes, newest first")
    .argument('<model>', 'id or name')
    .argument('<alias>', 'alias name')
    .option('-n, --limit <n>', 'at most this many (1-200)', intOption(1, 200))
    .option('--cursor <cursor>', 'continue after a previous page')
    .action(async (ref: string, name: string, opts: { limit?: number; cursor?: string }, cmd: Command) => {
      const client = await clientOf(ctx, cmd);
      const page = await client.get<Page<AliasHistoryEntry>>(
        `${modelPath(ref)}/aliases/${encodeURIComponent(name)}/history`,
        { limit: opts.limit, cursor: opts.cursor },
      );
      print(ctx, cmd, page, (p) => table(p.items, historyColumns));
      nextPageHint(ctx, cmd, page.next_cursor);
    });

  alias
    .command('rollback')
    .description('Point an alias back at the version it had before its last change')
    .argument('<model>', 'id or name')
    .argument('<alias>', 'alias name')
    .option('--reason <text>', 'why, kept in the history')
    .action(async (ref: string, name: string, opts: { reason?: string }, cmd: Command) => {
      const client = await clientOf(ctx, cmd);
      const answer = await client.post<AliasView>(
        `${modelPath(ref)}/aliases/${encodeURIComponent(name)}/rollback`,
        opts.reason !== undefined ? { reason: opts.reason } : {},
      );
      print(ctx, cmd, answer, aliasLine);
    });

  alias
    .command('rm')
    .alias('delete')
    .description('Remove an alias (its history is kept)')
    .argument('<model>', 'id or name')
    .argument('<alias>', 'alias name')
    .action(async (ref: string, name: string, _opts: unknown, cmd: Command) => {
      const client = await clientOf(ctx, cmd);
      const answer = await client.delete<AliasView>(`${modelPath(ref)}/aliases/${encodeURIComponent(name)}`);
      print(ctx, cmd, answer, aliasLine);
    });

  models
    .command('retire')
    .description('Retire a version: no alias can point at it any more')
    .argument('<model>', 'id or name')
    .argument('<version>', 'version number', versionArg)
    .action(async (ref: string, version: number, _opts: unknown, cmd: Command) => {
      const client = await clientOf(ctx, cmd);
      const answer = await client.post<VersionView>(`${modelPath(ref)}/versions/${version}/retire`);
      print(ctx, cmd, answer, (v) => `Retired version ${v.version} of ${ref}.`);
    });

  models
    .command('promote')
    .description('Point the production (or staging) alias at a version')
    .argument('<model>', 'id or name')
    .argument('<version>', 'version number', versionArg)
    .addOption(
      new Option('--stage <stage>', 'which alias').choices(['production', 'staging']).default('production'),
    )
    .option('--reason <text>', 'why, kept in the history')
    .action(async (ref: string, version: number, opts: { stage: string; reason?: string }, cmd: Command) => {
      const client = await clientOf(ctx, cmd);
      const answer = await client.post<AliasView>(`${modelPath(ref)}/promote`, {
        version,
        stage: opts.stage,
        ...(opts.reason !== undefined ? { reason: opts.reason } : {}),
      });
      print(ctx, cmd, answer, aliasLine);
    });
}
