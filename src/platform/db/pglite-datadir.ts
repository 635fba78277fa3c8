import { spawn } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PGlite } from '@electric-sql/pglite';

/**
 * Creating a PGlite data dir runs initdb inside the process: ~4 s of CPU, and the WASM instances it
 * uses stay reachable afterwards (~450 MB of RSS kept for the life of the node). So a new data dir is
 * a copy of a template initialized at build time (`npm run build`), or, without one, is initialized
 * by a short-lived child process whose memory goes back to the OS when it exits.
 */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const PGLITE_TEMPLATE_DIR = join(ROOT, 'dist', 'pglite-template');

/**
 * Server-sized defaults made for a process of its own: 128 MB of shared buffers were ~115 MB of
 * resident WASM heap. Polar's embedded tables are small metadata; pages beyond 16 MB are still cached
 * by the OS. Applied at each start (never written into postgresql.conf), so they can change freely.
 */
const PGLITE_SETTINGS = ['shared_buffers=16MB'];

/** PGlite's own start parameters plus ours, or undefined (PGlite's defaults) if it stops exposing them. */
export function pgliteStartParams(pglite: typeof PGlite): string[] | undefined {
  const defaults = (pglite as unknown as { defaultStartParams?: readonly string[] }).defaultStartParams;
  if (!Array.isArray(defaults)) return undefined;
  return [...defaults, ...PGLITE_SETTINGS.flatMap((s) => ['-c', s])];
}

function pgliteVersion(): string {
  // The package does not export its package.json; it sits one level above the entry point.
  const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  const pkg = join(dirname(entry), '..', 'package.json');
  return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
}

/**
 * A template is usable by any node on the same PGlite version; `schema` (which migrations it holds)
 * only decides whether the build refreshes it, since a node applies whatever migrations it lacks.
 */
function templateIsCurrent(template: string, schema?: string): boolean {
  try {
    const stamp = JSON.parse(readFileSync(`${template}.json`, 'utf8')) as {
      pglite?: string;
      schema?: string;
    };
    return (
      stamp.pglite === pgliteVersion() &&
      (schema === undefined || stamp.schema === schema) &&
      existsSync(join(template, 'PG_VERSION'))
    );
  } catch {
    return false;
  }
}

/** Runs initdb for `dir` in a child process (from the package root, so it finds PGlite). */
async function initInChild(dir: string): Promise<void> {
  const code = `import { PGlite } from '@electric-sql/pglite';
const pg = await PGlite.create(process.argv[1]);
await pg.close();`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code, dir], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString()).slice(-2000);
  });
  const status = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', resolve);
  });
  if (status !== 0 || !existsSync(join(dir, 'PG_VERSION'))) {
    throw new Error(`initializing the embedded database in ${dir} failed (exit ${status}): ${stderr}`);
  }
}

/** Fills `target` through a sibling staging dir, so an interrupted start never leaves half a database. */
async function initInto(target: string, fill: (staging: string) => Promise<void>): Promise<void> {
  const staging = `${target}.init-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  try {
    await fill(staging);
    if (existsSync(target)) rmdirSync(target);
    renameSync(staging, target);
    // Holds password and token hashes: readable by the node's user only.
    chmodSync(target, 0o700);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/**
 * Makes sure `dir` holds a PGlite database, creating one if it is missing or empty. Refuses a
 * non-empty directory without a database rather than initializing over someone's files.
 */
export async function preparePgliteDir(
  dir: string,
  opts: { template?: string | false } = {},
): Promise<'existing' | 'template' | 'initdb'> {
  const template = opts.template ?? PGLITE_TEMPLATE_DIR;
  if (existsSync(join(dir, 'PG_VERSION'))) return 'existing';
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    throw new Error(
      `${dir} is not empty but holds no database; move its files away or choose another data dir`,
    );
  }
  mkdirSync(dirname(dir), { recursive: true });
  if (template && templateIsCurrent(template)) {
    await initInto(dir, async (staging) => cpSync(template, staging, { recursive: true }));
    return 'template';
  }
  await initInto(dir, initInChild);
  return 'initdb';
}

/**
 * Initializes the template for this PGlite version, then lets `migrate` bring it to `schema`, so a
 * first start neither runs initdb nor most of its migrations. Does nothing when it is current.
 */
export async function buildPgliteTemplate(
  template = PGLITE_TEMPLATE_DIR,
  opts: { schema?: string; migrate?: (dir: string) => Promise<void> } = {},
): Promise<'built' | 'current'> {
  const schema = opts.schema ?? '';
  if (templateIsCurrent(template, schema)) return 'current';
  const stamp = `${template}.json`;
  rmSync(stamp, { force: true });
  rmSync(template, { recursive: true, force: true });
  mkdirSync(dirname(template), { recursive: true });
  await initInto(template, async (staging) => {
    await initInChild(staging);
    await opts.migrate?.(staging);
  });
  writeFileSync(stamp, `${JSON.stringify({ pglite: pgliteVersion(), schema })}\n`);
  return 'built';
}
