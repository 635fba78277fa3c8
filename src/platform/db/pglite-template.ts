/**
 * Build step (`npm run build`): initializes and migrates the PGlite data dir template that a node's
 * first start copies (see pglite-datadir.ts). Does nothing when it is current.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MIGRATIONS_DIR, openPglite } from './client.js';
import { buildPgliteTemplate, PGLITE_TEMPLATE_DIR } from './pglite-datadir.js';

const journal = JSON.parse(readFileSync(join(MIGRATIONS_DIR, 'meta', '_journal.json'), 'utf8')) as {
  entries: { tag: string }[];
};
const started = performance.now();
const result = await buildPgliteTemplate(PGLITE_TEMPLATE_DIR, {
  schema: journal.entries.map((e) => e.tag).join(','),
  async migrate(dir) {
    const db = await openPglite(dir);
    try {
      await db.migrate();
    } finally {
      await db.close();
    }
  },
});
if (result === 'built') {
  const ms = Math.round(performance.now() - started);
  process.stderr.write(
    `polar: prepared the embedded database template in ${PGLITE_TEMPLATE_DIR} (${ms} ms)\n`,
  );
}
