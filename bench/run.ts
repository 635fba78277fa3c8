/**
 * `npm run bench [-- --only <name>[,<name>]] [--duration <s>] [--import-mb <MiB>]`: runs the benchmarks one after the
 * other, prints markdown tables, and writes bench/results/<timestamp>.json and bench/results/latest.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { authRead } from './auth-read.js';
import { dispatch } from './dispatch.js';
import { importBench } from './import.js';
import { type Benchmark, markdownTable, type Section } from './lib.js';
import { registry } from './registry.js';
import { serving } from './serving.js';
import { startup } from './startup.js';
import { trainers } from './trainers.js';

const BENCHMARKS: Benchmark[] = [authRead, startup, registry, importBench, serving, dispatch, trainers];
const RESULTS_DIR = new URL('./results/', import.meta.url).pathname;

function options() {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      duration: { type: 'string', default: '5' },
      // 256 MiB takes about a second on loopback: long enough that start-up costs do not dominate.
      'import-mb': { type: 'string', default: '256' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const names = BENCHMARKS.map((b) => b.name);
  if (values.help) {
    process.stdout.write(
      `npm run bench -- [--only ${names.join('|')}[,...]] [--duration <seconds>] [--import-mb <MiB>]\n`,
    );
    process.exit(0);
  }
  const duration = Number(values.duration);
  if (!Number.isFinite(duration) || duration < 1 || duration > 600) {
    throw new Error('--duration must be a number of seconds between 1 and 600');
  }
  const importMb = Number(values['import-mb']);
  // The fake hub holds the file in memory, so the bound keeps a typo from exhausting the machine.
  if (!Number.isInteger(importMb) || importMb < 1 || importMb > 4096) {
    throw new Error('--import-mb must be a whole number of MiB between 1 and 4096');
  }
  const only = values.only?.split(',').map((s) => s.trim());
  const unknown = only?.filter((n) => !names.includes(n)) ?? [];
  if (unknown.length) throw new Error(`unknown benchmark ${unknown.join(', ')}; known: ${names.join(', ')}`);
  return { duration, importMb, selected: BENCHMARKS.filter((b) => !only || only.includes(b.name)) };
}

function render(sections: { name: string; section: Section }[], header: string): string {
  const parts = header ? [header] : [];
  for (const { section } of sections) {
    parts.push(`## ${section.title}`, markdownTable(section.headers, section.rows));
    if (section.notes.length) parts.push(section.notes.map((n) => `- ${n}`).join('\n'));
  }
  return `${parts.join('\n\n')}\n`;
}

const { duration, importMb, selected } = options();
const startedAt = new Date();
const machine = {
  node: process.version,
  cpus: cpus().length,
  cpu_model: cpus()[0]?.model ?? 'unknown',
  memory_mb: Math.round(totalmem() / 1048576),
  // The machine is shared; a high load average means noisy numbers.
  loadavg_at_start: loadavg().map((n) => Number(n.toFixed(2))),
};
const header = `# Polar bench, ${startedAt.toISOString()}\n\nNode ${machine.node}, ${machine.cpus} × ${machine.cpu_model}, load average at start ${machine.loadavg_at_start.join(' / ')}.`;
process.stdout.write(`${header}\n\n`);
const done: { name: string; section: Section }[] = [];
for (const b of selected) {
  process.stderr.write(`bench: ${b.name}...\n`);
  let section: Section;
  try {
    section = await b.run({ duration, importMb });
  } catch (err) {
    // One broken benchmark must not lose the others' numbers.
    process.exitCode = 1;
    section = {
      title: b.name,
      headers: ['error'],
      rows: [],
      notes: [`failed: ${(err as Error).message}`],
      data: null,
    };
  }
  done.push({ name: b.name, section });
  process.stdout.write(render([{ name: b.name, section }], ''));
}

const markdown = render(done, header);
mkdirSync(RESULTS_DIR, { recursive: true });
const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
writeFileSync(
  join(RESULTS_DIR, `${stamp}.json`),
  `${JSON.stringify({ started_at: startedAt.toISOString(), machine, duration_s: duration, results: Object.fromEntries(done.map((d) => [d.name, d.section])) }, null, 2)}\n`,
);
writeFileSync(join(RESULTS_DIR, 'latest.md'), markdown);
process.stderr.write(`bench: wrote bench/results/${stamp}.json and bench/results/latest.md\n`);
