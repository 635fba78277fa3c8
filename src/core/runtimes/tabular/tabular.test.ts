import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Applier } from './contract.js';
import { createTabularRuntime } from './create.js';
import { runtime as builtin } from './runtime.js';

// Two appliers of the kind Forge provides: a standard scaler and a linear model.
const APPLIERS: Record<string, Applier> = {
  scale: {
    kind: 'transform',
    apply: (rows, params) => {
      const p = params as Record<string, { mean: number; std: number }>;
      return rows.map((r) => {
        const out = { ...r };
        for (const [k, { mean, std }] of Object.entries(p)) out[k] = ((r[k] as number) - mean) / std;
        return out;
      });
    },
  },
  linear: {
    kind: 'model',
    predict: (rows, params) => {
      const p = params as { weights: Record<string, number>; bias: number };
      return {
        predictions: rows.map((r) =>
          Object.entries(p.weights).reduce((s, [k, w]) => s + w * (r[k] as number), p.bias),
        ),
      };
    },
  },
};
const appliers = { get: (t: string) => APPLIERS[t] };

function version(pipeline: unknown) {
  const dir = mkdtempSync(join(tmpdir(), 'polar-tabular-'));
  writeFileSync(join(dir, 'pipeline.json'), JSON.stringify(pipeline));
  return {
    dir,
    files: [{ path: 'pipeline.json', size: 1, format: 'json' }],
    format: 'polar-tabular',
    task: 'regression',
    config: {},
  };
}
const PIPELINE = {
  format: 'polar-tabular',
  format_version: 1,
  task: 'regression',
  features: [{ name: 'x', type: 'numeric', required: true }],
  steps: [
    { type: 'scale', params: { x: { mean: 10, std: 2 } } },
    { type: 'linear', params: { weights: { x: 3 }, bias: 1 } },
  ],
};

describe('tabular runtime', () => {
  it('runs the steps in order with their fitted params', async () => {
    const m = await createTabularRuntime(appliers).load(version(PIPELINE));
    expect(m.capabilities).toMatchObject({ predict: true, generate: false });
    const r = await m.predict?.([{ x: 10 }, { x: 14 }], new AbortController().signal);
    expect(r?.predictions).toEqual([1, 7]);
  });

  it('refuses bad rows, unknown steps, a model that is not last and broken files', async () => {
    const m = await createTabularRuntime(appliers).load(version(PIPELINE));
    await expect(m.predict?.([{ y: 1 }], new AbortController().signal)).rejects.toMatchObject({
      code: 'invalid_input',
    });
    const unknown = { ...PIPELINE, steps: [{ type: 'mystery', params: {} }] };
    await expect(createTabularRuntime(appliers).load(version(unknown))).rejects.toMatchObject({
      code: 'unknown_step',
    });
    const order = { ...PIPELINE, steps: [...PIPELINE.steps].reverse() };
    await expect(createTabularRuntime(appliers).load(version(order))).rejects.toMatchObject({
      code: 'invalid_artifact',
    });
    await expect(createTabularRuntime(appliers).load(version({ format: 'x' }))).rejects.toMatchObject({
      code: 'invalid_artifact',
    });
    await expect(builtin.load(version(PIPELINE))).rejects.toMatchObject({ code: 'unknown_step' });
    await expect(
      createTabularRuntime(appliers).load({ ...version(PIPELINE), config: { nope: 1 } }),
    ).rejects.toMatchObject({
      code: 'invalid_load_config',
    });
  });
});
