import { defineConfig } from 'drizzle-kit';

// Every domain's tables feed one migration folder that runs on PGlite and PostgreSQL alike.
export default defineConfig({
  dialect: 'postgresql',
  schema: [
    './src/platform/db/tables.ts',
    './src/hub/tables.ts',
    './src/core/tables.ts',
    './src/core/serving/tables.ts',
    './src/core/gateway/tables.ts',
    './src/forge/datasets/tables.ts',
    './src/forge/jobs/tables.ts',
    './src/forge/trainers/tables.ts',
    './src/forge/experiments/tables.ts',
    './src/forge/tuning/tables.ts',
  ],
  out: './migrations',
});
