import { z } from 'zod';

/** The experiment a job joins when its spec names none; created for its owner on first use. */
export const DEFAULT_EXPERIMENT = 'default';

/** Experiment names, as a training spec's `experiment` and the experiments API take them. */
export const experimentName = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]*$/, "use letters, digits, spaces, '.', '_' and '-'");
