import { type Rng, shuffle } from '../../random.js';

/**
 * Indices split into (train, validation) with `fraction` held out, each side in ascending order; for
 * classification the split is stratified so a rare class is not left out of either side.
 */
export function holdout(
  n: number,
  fraction: number,
  r: Rng,
  classes?: Float64Array,
): { train: Uint32Array; validation: Uint32Array } {
  const groups: number[][] = [];
  if (classes) {
    for (let i = 0; i < n; i++) {
      const c = classes[i]!;
      const g = groups[c] ?? [];
      groups[c] = g;
      g.push(i);
    }
  } else {
    groups.push(Array.from({ length: n }, (_, i) => i));
  }
  const train: number[] = [];
  const validation: number[] = [];
  for (const g of groups) {
    if (!g) continue;
    const idx = shuffle(Uint32Array.from(g), r);
    const k = Math.round(idx.length * fraction);
    for (let i = 0; i < idx.length; i++) (i < k ? validation : train).push(idx[i]!);
  }
  train.sort((x, y) => x - y);
  validation.sort((x, y) => x - y);
  return { train: Uint32Array.from(train), validation: Uint32Array.from(validation) };
}
