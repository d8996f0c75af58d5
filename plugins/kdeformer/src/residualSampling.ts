/**
 * The importance-sampling distribution of KDEformer's residual (step 5 of the practical
 * algorithm, https://arxiv.org/abs/2302.02451) and the draws from it. Pure JS in float64:
 * O(iterations·dv²) for σ², O(nk + m·log nk) for the draws.
 *
 *   σ² = λ_max(Vaugᵀ Vaug)                      (power iteration on the (dv+1)×(dv+1) Gram)
 *   P_j ∝ ‖vaug_j‖ / σ² + 1 / nv                (unsquared norm, as the reference computes it)
 *
 * Any P with P_j > 0 on every visible key keeps the residual unbiased; the mixture only shapes
 * its variance, so σ² need not be converged to many digits.
 */
import type { SeededRandom } from '@swapformer/core';

/** Power-iteration steps for σ² (the T2T reference uses 32, the original repo 20). */
export const POWER_ITERATIONS = 32;

/**
 * Largest eigenvalue of a symmetric positive semi-definite `dim × dim` matrix (row-major) by
 * power iteration from a seeded random start: returns ‖G x‖ after the last step, as the
 * reference does. 0 for the zero matrix.
 *
 * @example topEigenvalue(Float64Array.of(2, 0, 0, 1), 2, createSeededRandom(0)) // ≈ 2
 */
export function topEigenvalue(gram: Float64Array, dim: number, rng: SeededRandom, iterations = POWER_ITERATIONS): number {
  let x = new Float64Array(dim);
  for (let i = 0; i < dim; i++) x[i] = rng.normal();
  let norm = Math.hypot(...x);
  for (let i = 0; i < dim; i++) x[i] /= norm || 1;
  const y = new Float64Array(dim);
  norm = 0;
  for (let it = 0; it < iterations; it++) {
    for (let r = 0; r < dim; r++) {
      let acc = 0;
      for (let c = 0; c < dim; c++) acc += gram[r * dim + c] * x[c];
      y[r] = acc;
    }
    norm = Math.hypot(...y);
    if (norm === 0) return 0;
    x = y.map((value) => value / norm);
  }
  return norm;
}

/**
 * Normalised sampling probabilities over the visible keys, `P_j ∝ ‖vaug_j‖/σ² + 1/nv`.
 * `augNorms[i]` is ‖vaug‖ of the i-th visible key; σ² = 0 (all-zero values cannot happen with
 * the ones column, but guard anyway) falls back to the uniform distribution.
 *
 * @example samplingProbabilities(Float64Array.of(1, 3), 10) // [0.4285…, 0.5714…]
 */
export function samplingProbabilities(augNorms: Float64Array, sigma2: number): Float64Array {
  const nv = augNorms.length;
  const p = new Float64Array(nv);
  let total = 0;
  for (let i = 0; i < nv; i++) {
    p[i] = (sigma2 > 0 ? augNorms[i] / sigma2 : 0) + 1 / nv;
    total += p[i];
  }
  for (let i = 0; i < nv; i++) p[i] /= total;
  return p;
}

/**
 * `m` i.i.d. draws (with replacement) of positions `0 … P.length − 1` from the distribution P,
 * by inverse-CDF lookup of seeded uniforms.
 *
 * @example drawWithReplacement(Float64Array.of(0.5, 0.5), 4, createSeededRandom(3)) // e.g. [1, 0, 0, 1]
 */
export function drawWithReplacement(p: Float64Array, m: number, rng: SeededRandom): Int32Array {
  const cdf = new Float64Array(p.length);
  let acc = 0;
  for (let i = 0; i < p.length; i++) cdf[i] = acc += p[i];
  const draws = new Int32Array(m);
  for (let s = 0; s < m; s++) {
    const u = rng.uniform() * acc;
    let lo = 0;
    let hi = p.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid] > u) hi = mid;
      else lo = mid + 1;
    }
    draws[s] = lo;
  }
  return draws;
}
