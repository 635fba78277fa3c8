import { readFileSync } from 'node:fs';
import pg from 'pg';
import { inject } from 'vitest';
import { type Database, openPglite, openPostgres } from '../../src/platform/db/client.js';

/**
 * A fresh, migrated database for one test file: a PGlite copy of the migrated snapshot, or, in the
 * postgres project, a new database on POLAR_TEST_DATABASE_URL's server (dropped on close).
 */
export async function testDatabase(): Promise<Database> {
  if (process.env.POLAR_TEST_DB === 'postgres') {
    const url = process.env.POLAR_TEST_DATABASE_URL;
    if (!url) throw new Error('POLAR_TEST_DATABASE_URL is not set');
    const name = `polar_t_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const u = new URL(url);
    u.pathname = `/${name}`;
    const db = await openPostgres(u.toString(), 5);
    await db.migrate();
    const close = db.close.bind(db);
    return {
      ...db,
      async close() {
        await close();
        const c = new pg.Client({ connectionString: url });
        await c.connect();
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await c.end();
      },
    };
  }
  const file = inject('pgliteSnapshot');
  return openPglite(undefined, { loadDataDir: new Blob([readFileSync(file)]) });
}
