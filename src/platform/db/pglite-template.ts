/**
 * Build step (`npm run build`): initializes the PGlite data dir template that a node's first start
 * copies instead of running initdb (see pglite-datadir.ts). Does nothing when it is current.
 */
import { buildPgliteTemplate, PGLITE_TEMPLATE_DIR } from './pglite-datadir.js';

const started = performance.now();
const result = await buildPgliteTemplate();
if (result === 'built') {
  const ms = Math.round(performance.now() - started);
  process.stderr.write(
    `polar: initialized the embedded database template in ${PGLITE_TEMPLATE_DIR} (${ms} ms)\n`,
  );
}
