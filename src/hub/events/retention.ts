import type { Logger } from 'pino';
import type { EventBus } from '../../platform/events/bus.js';
import { startPeriodic } from '../../platform/periodic.js';
import { eventSettings, type SettingsReader } from '../settings/registry.js';

/** Pruning is a cheap indexed delete; every ten minutes keeps the table near the retention bound. */
export const PRUNE_EVERY_MS = 10 * 60_000;

/**
 * Deletes stored events older than the retention setting, now and then periodically. The setting
 * is read at each run so a change applies without restart. Every node may prune; the delete is
 * idempotent.
 */
export function startEventPruning(deps: {
  bus: EventBus;
  settings: SettingsReader;
  log: Logger;
  now?: () => Date;
  everyMs?: number;
}): () => Promise<void> {
  const now = deps.now ?? (() => new Date());
  return startPeriodic({
    name: 'event pruning',
    everyMs: deps.everyMs ?? PRUNE_EVERY_MS,
    log: deps.log,
    run: async () => {
      const hours = deps.settings.get(eventSettings).keep_hours;
      const removed = await deps.bus.prune(new Date(now().getTime() - hours * 3_600_000));
      if (removed > 0) deps.log.info({ removed, keep_hours: hours }, 'pruned old events');
    },
  });
}
