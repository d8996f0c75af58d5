import type { SeededRandom } from '@swapformer/core';

/** How the next token is picked from logits. */
export interface SamplingOptions {
  /** 0 (or less) picks the most likely token; otherwise logits are divided by it. Default 1. */
  readonly temperature?: number;
  /** Keep only the k most likely tokens before sampling (0 or undefined: all). */
  readonly topK?: number;
}

/**
 * Picks a token id from one row of logits: greedy at temperature 0, else a draw from
 * softmax(logits / T) restricted to the top k, in float64 with a seeded generator.
 *
 * @example sampleToken(new Float32Array([0.1, 2, -1]), { temperature: 0 }, rng) // 1
 */
export function sampleToken(logits: ArrayLike<number>, options: SamplingOptions, rng: SeededRandom): number {
  const temperature = options.temperature ?? 1;
  const n = logits.length;
  let best = 0;
  for (let i = 1; i < n; i++) if (logits[i] > logits[best]) best = i;
  if (!(temperature > 0)) return best;
  let order = Array.from({ length: n }, (_, i) => i);
  const k = options.topK && options.topK > 0 ? Math.min(options.topK, n) : n;
  if (k < n) order = order.sort((a, b) => logits[b] - logits[a] || a - b).slice(0, k);
  const max = logits[best];
  const weights = order.map((i) => Math.exp((logits[i] - max) / temperature));
  const total = weights.reduce((a, w) => a + w, 0);
  let u = rng.uniform() * total;
  for (let j = 0; j < order.length; j++) {
    u -= weights[j];
    if (u <= 0) return order[j];
  }
  return order[order.length - 1];
}
