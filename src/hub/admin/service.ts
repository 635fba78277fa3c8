import type { Logger } from 'pino';
import { ConflictError } from '../../platform/errors.js';
import type { AuditService } from '../audit/service.js';
import type { RequestContext } from '../auth/principal.js';
import { diskUsage, levelOf, memoryUsage, THRESHOLDS, worstLevel } from '../health/resources.js';
import { confinedDir, emptyDir } from './files.js';
import { LEVELS_BY_NAME, purgeLogFiles, removeRotatedLogs } from './logs.js';
import { CLEANUP_OPERATIONS, type CleanupOperation, type MaintenanceHooks } from './maintenance.js';
import type { SystemStateRepository } from './repository.js';
import type { CleanupInput, CleanupResult, PurgeLogsInput, PurgeLogsResult, SystemStatus } from './schema.js';

const LAST_CLEANUP = 'admin.last_cleanup';

interface LastCleanup {
  at: string;
  operations: CleanupOperation[];
  space_freed: number;
  status: CleanupResult['status'];
}

/** Folders of the data dir that hold only disposable files. */
const DISPOSABLE_DIRS = { clean_temp: 'tmp', clean_cache: 'cache' } as const;

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

export function createAdminService(deps: {
  audit: AuditService;
  state: SystemStateRepository;
  hooks: MaintenanceHooks;
  dataDir: string;
  log: Logger;
  now?: () => Date;
}) {
  const { audit, hooks, dataDir } = deps;
  const now = deps.now ?? (() => new Date());
  // File maintenance on this node runs one at a time: two cleanups (or a cleanup and a log purge)
  // racing over the same folders would double-count and trip over each other's deletions.
  let running: string | null = null;

  const exclusive = async <T>(ctx: RequestContext, action: string, details: object, fn: () => Promise<T>) => {
    if (running) {
      await audit.record(ctx, {
        action,
        targetType: 'system',
        outcome: 'failure',
        details: { ...details, reason: 'cleanup_running' },
      });
      throw new ConflictError(`A maintenance operation (${running}) is already running`, 'cleanup_running');
    }
    running = action;
    try {
      return await fn();
    } finally {
      running = null;
    }
  };

  const runOperation = async (op: CleanupOperation): Promise<number> => {
    let freed = 0;
    if (op === 'clean_temp' || op === 'clean_cache') {
      const dir = await confinedDir(dataDir, DISPOSABLE_DIRS[op]);
      if (dir) freed += await emptyDir(dir);
    } else if (op === 'clean_logs') {
      const dir = await confinedDir(dataDir, 'logs');
      if (dir) freed += (await removeRotatedLogs(dir)).bytesFreed;
    }
    for (const task of hooks.tasksFor(op)) freed += (await task.run()).bytesFreed;
    return freed;
  };

  return {
    async systemStatus(ctx: RequestContext): Promise<SystemStatus> {
      const [disk, model, last] = await Promise.all([
        diskUsage(dataDir),
        hooks.modelStatus(),
        deps.state.get<LastCleanup>(LAST_CLEANUP),
      ]);
      const memory = memoryUsage();
      const status = worstLevel([
        levelOf(disk.usage_percent, THRESHOLDS.disk),
        levelOf(memory.usage_percent, THRESHOLDS.memory),
      ]);
      await audit.record(ctx, { action: 'admin.system_status', targetType: 'system', details: { status } });
      return {
        status,
        disk_usage: disk,
        memory_usage: memory,
        model_status: { loaded_model: model.loaded_model, model_memory_usage: model.model_memory_usage },
        last_cleanup: last?.at ?? null,
      };
    },

    async cleanup(ctx: RequestContext, input: CleanupInput): Promise<CleanupResult> {
      const operations = input.operations.includes('full_cleanup')
        ? [...CLEANUP_OPERATIONS]
        : [...new Set(input.operations as CleanupOperation[])];
      const action = 'admin.cleanup';
      return exclusive(ctx, action, { operations, force: input.force }, async () => {
        if (!input.force) {
          const reasons = await hooks.busyReasons();
          if (reasons.length > 0) {
            await audit.record(ctx, {
              action,
              targetType: 'system',
              outcome: 'failure',
              details: { operations, reason: 'system_busy', busy: reasons },
            });
            throw new ConflictError(
              `The node is busy (${reasons.join('; ')}); retry later, or set "force": true`,
              'system_busy',
            );
          }
        }
        const startedAt = now();
        const completed: CleanupOperation[] = [];
        const failures: string[] = [];
        let freed = 0;
        for (const op of operations) {
          try {
            freed += await runOperation(op);
            completed.push(op);
          } catch (err) {
            deps.log.error({ err, operation: op }, 'cleanup operation failed');
            failures.push(`${op}: ${messageOf(err)}`);
          }
        }
        const status = failures.length > 0 ? 'error' : 'success';
        const message =
          status === 'success'
            ? `Cleanup completed: ${completed.join(', ')}; ${freed} bytes freed`
            : `Cleanup finished with errors (${failures.join('; ')}); ${freed} bytes freed`;
        const result: CleanupResult = {
          status,
          message,
          operations_completed: completed,
          space_freed: freed,
          started_at: startedAt.toISOString(),
        };
        await deps.state.set(
          LAST_CLEANUP,
          { at: result.started_at, operations: completed, space_freed: freed, status } satisfies LastCleanup,
          now(),
        );
        await audit.record(ctx, {
          action,
          targetType: 'system',
          outcome: status === 'success' ? 'success' : 'failure',
          details: {
            operations,
            force: input.force,
            operations_completed: completed,
            space_freed: freed,
            failures,
          },
        });
        return result;
      });
    },

    async purgeLogs(ctx: RequestContext, input: PurgeLogsInput): Promise<PurgeLogsResult> {
      const action = 'admin.purge_logs';
      return exclusive(ctx, action, { ...input }, async () => {
        const levels = input.log_levels ? new Set(input.log_levels.map((n) => LEVELS_BY_NAME[n])) : undefined;
        const purgedAt = now();
        let r = { filesRemoved: 0, filesRewritten: 0, bytesFreed: 0 };
        let failure: string | null = null;
        try {
          const dir = await confinedDir(dataDir, 'logs');
          if (dir)
            r = await purgeLogFiles(dir, {
              olderThanDays: input.older_than_days,
              keepLatestFiles: input.keep_latest_files,
              levels,
              now: purgedAt,
            });
        } catch (err) {
          deps.log.error({ err }, 'log purge failed');
          failure = messageOf(err);
        }
        const rewritten = levels
          ? `, ${r.filesRewritten} rewritten without ${input.log_levels?.join(', ')}`
          : '';
        const summary = `${r.filesRemoved} file(s) removed${rewritten}; ${r.bytesFreed} bytes freed`;
        await audit.record(ctx, {
          action,
          targetType: 'system',
          outcome: failure ? 'failure' : 'success',
          details: {
            ...input,
            files_removed: r.filesRemoved,
            files_rewritten: r.filesRewritten,
            space_freed: r.bytesFreed,
            ...(failure ? { error: failure } : {}),
          },
        });
        return {
          status: failure ? 'error' : 'success',
          message: failure ? `Log purge failed (${failure}); ${summary}` : `Log purge completed: ${summary}`,
          files_removed: r.filesRemoved,
          space_freed: r.bytesFreed,
          purged_at: purgedAt.toISOString(),
        };
      });
    },
  };
}
export type AdminService = ReturnType<typeof createAdminService>;
