/**
 * Token sampling with Polar's parameters and a per-request seeded generator. transformers.js 4
 * samples with one process-wide Math.random-like generator and has no top-p warper, so the runtime
 * draws the token itself: the chosen token keeps its logit and every other one becomes -Infinity,
 * after which transformers.js's greedy step picks exactly that token.
 */

export interface SamplingOptions {
  /** > 0; callers decode greedily at 0. */
  temperature: number;
  /** Keep the k most likely tokens; 0 (or ≥ vocabulary) keeps all. */
  top_k: number;
  /** Keep the smallest most-likely set whose probability reaches top_p; ≥ 1 keeps all. */
  top_p: number;
}

/** Indices of the k largest values, largest first (ties: lower index first). */
export function topKIndices(values: ArrayLike<number>, k: number): number[] {
  const n = values.length;
  if (k >= n) {
    return Array.from({ length: n }, (_, i) => i).sort((a, b) => values[b]! - values[a]! || a - b);
  }
  // One pass keeping a sorted window of k: O(n) when most values fall below the window, which is
  // the case for logits over a large vocabulary, instead of sorting the whole vocabulary.
  const best: number[] = [];
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (best.length === k && !(v > values[best[k - 1]!]!)) continue;
    let at = best.length;
    while (at > 0 && v > values[best[at - 1]!]!) at--;
    best.splice(at, 0, i);
    if (best.length > k) best.pop();
  }
  return best;
}

/**
 * Draws one token index from logits after temperature, top-k and top-p, using `random()` in
 * [0, 1). Tokens at -Infinity (masked by earlier processors) are never drawn.
 */
export function sampleToken(logits: ArrayLike<number>, opts: SamplingOptions, random: () => number): number {
  const k = opts.top_k > 0 ? Math.min(opts.top_k, logits.length) : logits.length;
  const candidates = topKIndices(logits, k).filter((i) => logits[i]! > Number.NEGATIVE_INFINITY);
  if (candidates.length === 0) return topKIndices(logits, 1)[0] ?? 0;
  const top = logits[candidates[0]!]!;
  const weights = candidates.map((i) => Math.exp((logits[i]! - top) / opts.temperature));
  const total = weights.reduce((a, b) => a + b, 0);
  let keep = candidates.length;
  if (opts.top_p < 1) {
    // Always keep the most likely token, so top_p = 0 means greedy rather than nothing.
    let mass = 0;
    keep = 0;
    while (keep < candidates.length && (keep === 0 || mass < opts.top_p * total)) mass += weights[keep++]!;
  }
  const kept = weights.slice(0, keep);
  let target = random() * kept.reduce((a, b) => a + b, 0);
  for (let j = 0; j < kept.length; j++) {
    target -= kept[j]!;
    if (target < 0) return candidates[j]!;
  }
  return candidates[keep - 1]!;
}
