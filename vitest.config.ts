import { defineConfig } from 'vitest/config';

const postgres = process.env.POLAR_TEST_DATABASE_URL;

// Every test runs on PGlite; database and HTTP suites (*.db.test.ts, *.http.test.ts) run again on
// PostgreSQL when POLAR_TEST_DATABASE_URL is set.
export default defineConfig({
  test: {
    globalSetup: ['./test/helpers/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    passWithNoTests: false,
    pool: 'forks',
    projects: [
      { extends: true, test: { name: 'pglite', include: ['src/**/*.test.ts', 'test/**/*.test.ts'] } },
      ...(postgres
        ? [
            {
              extends: true as const,
              test: {
                name: 'postgres',
                include: ['src/**/*.db.test.ts', 'src/**/*.http.test.ts', 'test/**/*.http.test.ts'],
                env: { POLAR_TEST_DB: 'postgres' },
              },
            },
          ]
        : []),
    ],
  },
});
