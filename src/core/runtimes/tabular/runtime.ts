import { createTabularRuntime } from './create.js';

/**
 * The built-in entry for `polar-tabular`: no step types of its own. Forge registers a runtime entry
 * for the same format whose module compiles pipelines onto its step registry
 * (`createCompiledTabularRuntime`); that later entry wins, so this one only answers (with
 * `unknown_step`) when Forge is absent.
 */
export const runtime = createTabularRuntime({ get: () => undefined });
