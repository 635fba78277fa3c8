import { z } from 'zod';
import { LEVEL_NAMES } from './logs.js';
import { CLEANUP_OPERATIONS } from './maintenance.js';

/** Request and response fields are seed 003's, exactly. */
const usage = z
  .object({
    total: z.number().describe('bytes'),
    used: z.number().describe('bytes'),
    free: z.number().describe('bytes'),
    usage_percent: z.number(),
  })
  .meta({ id: 'ResourceUsage' });

export const systemStatus = z
  .object({
    status: z.enum(['healthy', 'warning', 'critical']),
    disk_usage: usage.describe("The data dir's filesystem"),
    memory_usage: usage,
    model_status: z.object({
      loaded_model: z.string().nullable(),
      model_memory_usage: z.number().describe('bytes'),
    }),
    last_cleanup: z.string().nullable().describe('When the last cleanup ran; null if never'),
  })
  .meta({ id: 'SystemStatus' });
export type SystemStatus = z.infer<typeof systemStatus>;

export const cleanupBody = z.strictObject({
  operations: z
    .array(z.enum([...CLEANUP_OPERATIONS, 'full_cleanup']))
    .min(1)
    .max(10),
  force: z.boolean().default(false).describe('Run even when the node reports it is busy'),
});
export type CleanupInput = z.infer<typeof cleanupBody>;

export const cleanupResult = z
  .object({
    status: z.enum(['success', 'error', 'running']),
    message: z.string(),
    operations_completed: z.array(z.enum(CLEANUP_OPERATIONS)),
    space_freed: z.number().int().describe('bytes'),
    started_at: z.string(),
  })
  .meta({ id: 'CleanupResult' });
export type CleanupResult = z.infer<typeof cleanupResult>;

const purgeLogsFields = z.strictObject({
  older_than_days: z.number().int().min(0).max(36_500).default(30),
  keep_latest_files: z.number().int().min(0).max(1_000_000).default(100),
  log_levels: z
    .array(z.string().toUpperCase().pipe(z.enum(LEVEL_NAMES)))
    .min(1)
    .max(LEVEL_NAMES.length)
    .optional()
    .describe(
      `Remove only lines of these levels from the selected files, e.g. ["DEBUG", "INFO"] (${LEVEL_NAMES.join(', ')}; any case)`,
    ),
});
// Every field is optional (seed 003), so a POST without a body is a purge with the defaults.
export const purgeLogsBody = purgeLogsFields.nullish().transform((v) => v ?? purgeLogsFields.parse({}));
export type PurgeLogsInput = z.output<typeof purgeLogsFields>;

export const purgeLogsResult = z
  .object({
    status: z.enum(['success', 'error']),
    message: z.string(),
    files_removed: z.number().int(),
    space_freed: z.number().int().describe('bytes'),
    purged_at: z.string(),
  })
  .meta({ id: 'PurgeLogsResult' });
export type PurgeLogsResult = z.infer<typeof purgeLogsResult>;
