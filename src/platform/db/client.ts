import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import type { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { pgliteStartParams, preparePgliteDir } from './pglite-datadir.js';

/** Both drivers share Drizzle's pg-core API; repositories only see this type. */
export type Db = PgDatabase<PgQueryResultHKT, Record<string, never>>;

export interface Database {
  readonly db: Db;
  readonly kind: 'pglite' | 'postgres';
  /** Applies pending migrations (idempotent). */
  migrate(): Promise<void>;
  /** True when the database answers a trivial query. */
  ping(): Promise<boolean>;
  /** Number of applied migrations, and how many ship with this build. */
  migrationStatus(): Promise<{ applied: number; expected: number }>;
  close(): Promise<void>;
}

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../../migrations', import.meta.url));

async function expectedMigrations(): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const journal = JSON.parse(await readFile(join(MIGRATIONS_DIR, 'meta', '_journal.json'), 'utf8')) as {
    entries: unknown[];
  };
  return journal.entries.length;
}

function common(db: Db, kind: Database['kind'], doMigrate: () => Promise<void>, close: () => Promise<void>) {
  return {
    db,
    kind,
    migrate: doMigrate,
    async ping() {
      try {
        await db.execute(sql`select 1`);
        return true;
      } catch {
        return false;
      }
    },
    async migrationStatus() {
      const expected = await expectedMigrations();
      try {
        const res = await db.execute(sql`select count(*)::int as n from drizzle.__drizzle_migrations`);
        const row = (res as unknown as { rows: { n: number }[] }).rows[0];
        return { applied: row?.n ?? 0, expected };
      } catch {
        return { applied: 0, expected };
      }
    },
    close,
  } satisfies Database;
}

/**
 * V8 compiles PGlite's 9 MB WASM module with its baseline compiler (Liftoff) and, by default, sets
 * up dynamic tiering that recompiles hot functions with TurboFan in background threads. Without it
 * PGlite measured ~45 MB less resident memory (the difference between meeting the 200 MB idle goal
 * or not) and half the CPU to open; query throughput stayed within ±10% in our runs. The flags are
 * process-wide and read while WASM runs, so they cannot be scoped to PGlite: every WASM module in
 * this process stays on Liftoff. A node runs no other WASM today (model runtimes are native add-ons,
 * trainers run in child processes, which do not inherit these flags).
 */
let baselineOnly = false;
function keepWasmOnBaselineCompiler() {
  if (baselineOnly) return;
  baselineOnly = true;
  v8.setFlagsFromString('--no-wasm-dynamic-tiering');
  v8.setFlagsFromString('--no-wasm-tier-up');
}

/**
 * Opens PGlite in `dir` (initialized if missing, see pglite-datadir.ts), or in memory when dir is
 * undefined. Commits are written to the files in `dir` before they return, so they survive a crash or
 * kill of the process; PGlite cannot fsync, so an OS crash may lose the last ones.
 */
export async function openPglite(
  dir: string | undefined,
  opts: { loadDataDir?: Blob } = {},
): Promise<Database> {
  if (dir && opts.loadDataDir) mkdirSync(dir, { recursive: true });
  else if (dir) await preparePgliteDir(dir);
  // Each driver is loaded only when used: a node runs on one of them, and pg, PGlite and their
  // Drizzle adapters cost start-up time and memory.
  const [{ PGlite }, { drizzle: drizzlePglite }, { migrate: migratePglite }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('drizzle-orm/pglite'),
    import('drizzle-orm/pglite/migrator'),
  ]);
  const startParams = pgliteStartParams(PGlite);
  keepWasmOnBaselineCompiler();
  const client = await PGlite.create(dir, {
    ...(startParams ? { startParams } : {}),
    ...(opts.loadDataDir ? { loadDataDir: opts.loadDataDir } : {}),
  });
  const db = drizzlePglite(client);
  return {
    ...common(
      db as unknown as Db,
      'pglite',
      () => migratePglite(db, { migrationsFolder: MIGRATIONS_DIR }),
      () => client.close(),
    ),
    pglite: client,
  } as Database & { pglite: PGlite };
}

export async function openPostgres(url: string, poolSize = 10): Promise<Database> {
  const [{ default: pg }, { drizzle: drizzleNodePg }, { migrate: migrateNodePg }] = await Promise.all([
    import('pg'),
    import('drizzle-orm/node-postgres'),
    import('drizzle-orm/node-postgres/migrator'),
  ]);
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  // A dropped idle connection must not crash the node; the pool replaces it.
  pool.on('error', () => {});
  const db = drizzleNodePg(pool);
  return common(
    db as unknown as Db,
    'postgres',
    () => migrateNodePg(db, { migrationsFolder: MIGRATIONS_DIR }),
    () => pool.end(),
  );
}

export async function openDatabase(opts: {
  databaseUrl: string | undefined;
  dataDir: string;
}): Promise<Database> {
  if (opts.databaseUrl) return openPostgres(opts.databaseUrl);
  return openPglite(join(opts.dataDir, 'db'));
}
