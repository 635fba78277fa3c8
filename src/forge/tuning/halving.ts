import type { Rung } from './tables.js';

/** Float slack for logarithms of exact powers (log(9)/log(3) is 2.0000000000000004). */
const EPS = 1e-9;
const logBase = (x: number, base: number) => Math.log(x) / Math.log(base);

/**
 * Successive halving's rungs for `n` configurations: each rung keeps the best 1/eta of the one
 * before (rounded up) and gives them eta times the budget, the last rung running at `maxBudget`.
 * There are as many rungs as both the budget range (each rung eta times the last, none under
 * `minBudget`) and the halving down to one configuration allow. Budgets are whole numbers (trees,
 * iterations, epochs). Fewer than two rungs is no halving: the caller refuses it.
 */
export function halvingSchedule(n: number, eta: number, minBudget: number, maxBudget: number): Rung[] {
  if (n < 1 || eta < 2 || minBudget < 1 || maxBudget < minBudget) return [];
  const byBudget = Math.floor(logBase(maxBudget / minBudget, eta) + EPS);
  const byConfigs = Math.ceil(logBase(n, eta) - EPS);
  const count = 1 + Math.min(byBudget, byConfigs);
  const rungs: Rung[] = [];
  let configs = n;
  for (let i = 0; i < count; i++) {
    const budget = Math.max(minBudget, Math.round(maxBudget / eta ** (count - 1 - i)));
    rungs.push({ configs, budget });
    configs = Math.ceil(configs / eta);
  }
  return rungs;
}

export type Direction = 'maximize' | 'minimize';

interface Ranked {
  number: number;
  metric: number | null;
  state: string;
}

/** Best first: succeeded trials with the metric, ordered by it, ties to the earlier trial. */
export function ranked<T extends Ranked>(trials: readonly T[], direction: Direction): T[] {
  const sign = direction === 'maximize' ? -1 : 1;
  return trials
    .filter((t) => t.state === 'succeeded' && t.metric !== null && Number.isFinite(t.metric))
    .sort((a, b) => sign * ((a.metric as number) - (b.metric as number)) || a.number - b.number);
}

/** The configurations a finished rung sends on: its best `k` (fewer when fewer succeeded). */
export function promote<T extends Ranked>(rung: readonly T[], k: number, direction: Direction): T[] {
  return ranked(rung, direction).slice(0, k);
}

/**
 * The search's best trial: from the highest rung where a trial succeeded (more budget is a fairer
 * measure than a lucky short run), the best by the metric there. Grid and random search have one rung.
 */
export function bestTrial<T extends Ranked & { rung: number }>(
  trials: readonly T[],
  direction: Direction,
): T | null {
  const ok = ranked(trials, direction);
  if (ok.length === 0) return null;
  const top = Math.max(...ok.map((t) => t.rung));
  return ok.find((t) => t.rung === top) ?? null;
}
