import type { Command } from 'commander';
import type {
  SettingsChange,
  SettingsField,
  SettingsSection,
  SettingsSectionSchema,
} from '../../hub/settings/schema.js';
import type { Page } from '../client.js';
import { type CliContext, clientOf, nextPageHint, print } from '../context.js';
import { type Column, table, time } from '../output.js';
import { intOption, parseAssignments, parseFullSectionPath, parseSectionPath } from '../values.js';

const show = (v: unknown) => (typeof v === 'string' ? v : (JSON.stringify(v) ?? '-'));

function sectionText(s: SettingsSection): string {
  const by = s.updated_at ? `, updated ${time(s.updated_at)} by ${s.updated_by ?? '-'}` : ', defaults';
  const head = `${s.scope}/${s.section}  (version ${s.version}${by})\n  ${s.description}`;
  const values = Object.entries(s.values).map(([k, v]) => `  ${k} = ${show(v)}`);
  return [head, ...values].join('\n');
}

const fieldColumns: Column<SettingsField>[] = [
  { header: 'name', value: (f) => f.name + (f.secret ? ' (secret)' : '') },
  { header: 'type', value: (f) => f.type + (f.nullable ? '?' : '') },
  { header: 'default', value: (f) => show(f.default) },
  {
    header: 'allowed',
    value: (f) =>
      f.enum
        ? f.enum.map(show).join('|')
        : f.min !== null || f.max !== null
          ? `${f.min ?? ''}..${f.max ?? ''}`
          : '',
  },
  { header: 'description', value: (f) => f.description ?? '' },
];

const changeColumns: Column<SettingsChange>[] = [
  { header: 'version', value: (c) => String(c.version) },
  { header: 'at', value: (c) => time(c.changed_at) },
  { header: 'by', value: (c) => c.changed_by_name ?? '-' },
  {
    header: 'changes',
    value: (c) =>
      Object.entries(c.changes)
        .map(([k, d]) => `${k}: ${show(d.from)} → ${show(d.to)}`)
        .join('; '),
  },
];

const base = '/api/v1/settings';
const sectionUrl = (p: { scope: string; section: string }) =>
  `${base}/${encodeURIComponent(p.scope)}/${encodeURIComponent(p.section)}`;

export function registerSettings(program: Command, ctx: CliContext) {
  const settings = program
    .command('settings')
    .description('Read and change runtime settings (applied at once)');

  settings
    .command('schema')
    .description('Every setting with its type, default and allowed values')
    .argument('[scope[/section]]', 'only this scope or section')
    .action(async (path: string | undefined, _opts: unknown, cmd: Command) => {
      const want = parseSectionPath(path);
      const client = await clientOf(ctx, cmd);
      const all = await client.get<Page<SettingsSectionSchema>>(`${base}/schema`);
      const items = all.items.filter(
        (s) => (!want.scope || s.scope === want.scope) && (!want.section || s.section === want.section),
      );
      print(ctx, cmd, { ...all, items }, (p) =>
        p.items.length === 0
          ? '(no such settings)'
          : p.items
              .map(
                (s) => `${s.scope}/${s.section}: ${s.description}\n${indent(table(s.fields, fieldColumns))}`,
              )
              .join('\n\n'),
      );
    });

  settings
    .command('get')
    .description('Current values (secrets masked): all, one scope, or one section')
    .argument('[scope[/section]]', 'only this scope or section')
    .action(async (path: string | undefined, _opts: unknown, cmd: Command) => {
      const p = parseSectionPath(path);
      const client = await clientOf(ctx, cmd);
      if (p.scope && p.section) {
        const section = await client.get<SettingsSection>(sectionUrl({ scope: p.scope, section: p.section }));
        print(ctx, cmd, section, sectionText);
        return;
      }
      const url = p.scope ? `${base}/${encodeURIComponent(p.scope)}` : base;
      print(ctx, cmd, await client.get<Page<SettingsSection>>(url), (page) =>
        page.items.length === 0 ? '(no settings)' : page.items.map(sectionText).join('\n\n'),
      );
    });

  settings
    .command('set')
    .description('Change settings: values are JSON when they parse (42, true, null = default), else text')
    .argument('<scope/section>', 'the section to change')
    .argument('<key=value...>', 'fields to change (the others keep their values)')
    .option('--if-version <n>', 'apply only if the section is still at this version', intOption(0))
    .action(async (path: string, pairs: string[], opts: { ifVersion?: number }, cmd: Command) => {
      const p = parseFullSectionPath(path);
      const body = parseAssignments(pairs);
      const client = await clientOf(ctx, cmd);
      const section = await client.put<SettingsSection>(sectionUrl(p), body, {
        query: { version: opts.ifVersion },
      });
      print(ctx, cmd, section, sectionText);
    });

  settings
    .command('history')
    .description('Changes of a section, newest first')
    .argument('<scope/section>', 'the section')
    .option('-n, --limit <n>', 'at most this many (1-200)', intOption(1, 200))
    .option('--cursor <cursor>', 'continue after a previous page')
    .action(async (path: string, opts: { limit?: number; cursor?: string }, cmd: Command) => {
      const p = parseFullSectionPath(path);
      const client = await clientOf(ctx, cmd);
      const page = await client.get<Page<SettingsChange>>(`${sectionUrl(p)}/history`, {
        limit: opts.limit,
        cursor: opts.cursor,
      });
      print(ctx, cmd, page, (pg) => table(pg.items, changeColumns));
      nextPageHint(ctx, cmd, page.next_cursor);
    });
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}
