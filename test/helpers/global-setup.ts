import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openPglite } from '../../src/platform/db/client.js';

/**
 * Migrates one PGlite database and dumps it, so every test file starts from a copy in ~0.5 s
 * instead of creating and migrating its own (~3 s).
 */
export default async function setup({ provide }: { provide: (key: string, value: string) => void }) {
  const dir = mkdtempSync(join(tmpdir(), 'polar-test-'));
  const db = await openPglite(undefined);
  await db.migrate();
  const dump = await (
    db as unknown as { pglite: { dumpDataDir(c: 'none'): Promise<Blob> } }
  ).pglite.dumpDataDir('none');
  const file = join(dir, 'migrated.tar');
  writeFileSync(file, Buffer.from(await dump.arrayBuffer()));
  await db.close();
  provide('pgliteSnapshot', file);
  return () => rmSync(dir, { recursive: true, force: true });
}

declare module 'vitest' {
  export interface ProvidedContext {
    pgliteSnapshot: string;
  }
}
