/**
 * Kernel halving by a self-balancing walk (spec §2, KH-halve steps d–h), for many buckets at
 * once. This is the sequential hot spot of Thinformer: within a bucket pair i depends on the
 * signs chosen for pairs 0 … i−1, so it runs as a tight typed-array loop in JS, one pass over
 * every bucket of every (batch, head) slice of a round.
 *
 * Shapes: `gram` [buckets, M, M] (pair-difference Gram matrices G, row-major; only the upper
 * triangle j ≥ i is read), `uniforms` [buckets, M] → swaps [buckets, M].
 * Time O(buckets · M² / 2) scalar updates; memory O(M) scratch.
 */

/**
 * Runs the self-balancing walk on every bucket and returns the swap bits: pair i of a bucket
 * keeps its point `2i + swap[i]` (0 keeps the even point, 1 the odd one).
 *
 * Per bucket, with r_i = sqrt(max(G_ii, 0)) and C_i = max_{j≤i} r_j, the threshold of pair i is
 * u_i = U_i · r_i · C_i with U_i ~ Uniform(−Λ, Λ) given in `uniforms`. Pair 0 keeps its even
 * point; pair i swaps iff u_i ≤ a_i, where a = ⟨σ, ψ_·⟩ is the running inner product of the
 * signed sum so far with every pair difference ψ_j. `flip` is the symmetrisation coin: when
 * true every swap bit is inverted (the complementary half is kept).
 *
 * @example
 * // one bucket of two pairs, G = [[1, 0.5], [0.5, 1]], u_1 = 0 ≤ a_1 = 0.5 → pair 1 swaps
 * selfBalancingWalk(new Float32Array([1, 0.5, 0.5, 1]), 1, 2, new Float32Array([0, 0]), false); // Uint8Array [0, 1]
 */
export function selfBalancingWalk(gram: Float32Array, buckets: number, pairs: number, uniforms: Float32Array, flip: boolean): Uint8Array {
  const m = pairs;
  if (gram.length !== buckets * m * m) throw new RangeError(`selfBalancingWalk: gram has ${gram.length} entries, expected buckets·M² = ${buckets * m * m}`);
  if (uniforms.length !== buckets * m) throw new RangeError(`selfBalancingWalk: uniforms has ${uniforms.length} entries, expected buckets·M = ${buckets * m}`);
  const swaps = new Uint8Array(buckets * m);
  // float64 scratch: the running sums add M terms of mixed sign, so keep them exact-ish
  const a = new Float64Array(m);
  const threshold = new Float64Array(m);
  const on = flip ? 1 : 0;
  for (let bucket = 0; bucket < buckets; bucket++) {
    const base = bucket * m * m;
    const ubase = bucket * m;
    let runningMax = 0;
    for (let i = 0; i < m; i++) {
      const gii = gram[base + i * m + i];
      const r = gii > 0 ? Math.sqrt(gii) : 0; // cancellation can make G_ii slightly negative
      if (r > runningMax) runningMax = r;
      threshold[i] = uniforms[ubase + i] * r * runningMax;
    }
    for (let j = 0; j < m; j++) a[j] = gram[base + j];
    swaps[ubase] = on;
    for (let i = 1; i < m; i++) {
      const swap = threshold[i] <= a[i];
      swaps[ubase + i] = (swap ? 1 : 0) ^ on;
      // only a_j with j > i is read later, so the update skips the lower triangle
      const row = base + i * m;
      if (swap) {
        for (let j = i + 1; j < m; j++) a[j] -= gram[row + j];
      } else {
        for (let j = i + 1; j < m; j++) a[j] += gram[row + j];
      }
    }
  }
  return swaps;
}
