import { z } from 'zod';
import { defineSection } from '../../hub/settings/registry.js';

export const datasetSettings = defineSection({
  scope: 'forge',
  section: 'datasets',
  description: 'What dataset uploads may hold',
  schema: z.strictObject({
    max_upload_mb: z
      .number()
      .int()
      .min(1)
      .max(1024 * 1024)
      .default(1024)
      .describe('Largest dataset file, in MiB; a larger upload is refused with 413'),
    max_rows: z
      .number()
      .int()
      .min(1)
      .max(1_000_000_000)
      .default(50_000_000)
      .describe('Most data rows in one file; more is refused with 413'),
    max_columns: z
      .number()
      .int()
      .min(1)
      .max(100_000)
      .default(2000)
      .describe(
        'Most columns in one file; more is refused with 413 (profiling memory grows with the column count)',
      ),
  }),
});

export const DATASET_SECTIONS = [datasetSettings];
