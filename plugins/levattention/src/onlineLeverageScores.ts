/**
 * Online leverage scores: each key scored against the keys seen so far, the one-pass streaming
 * selector of LevAttention (Kannan et al., ICLR 2025, https://arxiv.org/abs/2410.05462) and the
 * basis of our causal extension.
 *
 *   τ̃_j = k_jᵀ (G_j + λI)⁻¹ k_j,   G_j = Σ_{l ≤ j} k_l k_lᵀ,   λ = ridge · ‖k_first‖²
 *
 * τ̃_j depends on keys 0 … j only, and upper-bounds the final score τ_j up to the ridge, because G only grows. The ridge
 * is relative to the first non-zero key's squared norm, the only scale known at that point, so
 * the scores stay invariant to rescaling K. With e = ‖U⁻ᵀ k_j‖² for Uᵀ U = G_{j−1} + λI, τ̃_j = e / (1 + e);
 * U then takes the rank-one update by k_j. Time O(n·dk²), state O(dk²), float64 JS.
 */

/**
 * Cholesky rank-one update in place, on the upper factor U = Lᵀ (row-major, so every inner loop
 * runs along a row): Uᵀ U ← Uᵀ U + x xᵀ. x is overwritten.
 */
function cholUpdate(u: Float64Array, x: Float64Array, dim: number): void {
  for (let k = 0; k < dim; k++) {
    const row = k * dim;
    const ukk = u[row + k];
    const xk = x[k];
    const r = Math.sqrt(ukk * ukk + xk * xk); // Math.hypot is several times slower here
    const cInv = ukk / r;
    const s = xk / ukk;
    const c = r / ukk;
    u[row + k] = r;
    for (let i = k + 1; i < dim; i++) {
      const updated = (u[row + i] + s * x[i]) * cInv;
      u[row + i] = updated;
      x[i] = c * x[i] - s * updated;
    }
  }
}

/** ‖y‖² for Uᵀ y = x, solved by columns so that every inner loop runs along a row of U. */
function solvedEnergy(u: Float64Array, x: Float64Array, y: Float64Array, dim: number): number {
  y.set(x);
  let energy = 0;
  for (let t = 0; t < dim; t++) {
    const row = t * dim;
    const yt = y[t] / u[row + t];
    energy += yt * yt;
    for (let i = t + 1; i < dim; i++) y[i] -= u[row + i] * yt;
  }
  return energy;
}

/**
 * Online scores of `n` rows of `rows` (row-major, `dim` columns, from `offset`). Keys with
 * `visible[j] === 0` are skipped (score 0) and do not enter G; so are keys before the first
 * non-zero one.
 *
 * @example onlineLeverageScores(Float64Array.of(1, 0, 2, 0, 0, 1), 0, 3, 2, 1e-6) // ≈ [1, 0.8, 1]
 */
export function onlineLeverageScores(rows: ArrayLike<number>, offset: number, n: number, dim: number, ridge: number, visible?: Uint8Array | null): Float64Array {
  const scores = new Float64Array(n);
  const u = new Float64Array(dim * dim); // upper Cholesky factor of G_{j−1} + λI
  const x = new Float64Array(dim);
  const y = new Float64Array(dim);
  let started = false;
  for (let j = 0; j < n; j++) {
    if (visible && visible[j] !== 1) continue;
    let norm2 = 0;
    for (let c = 0; c < dim; c++) {
      x[c] = rows[offset + j * dim + c];
      norm2 += x[c] * x[c];
    }
    if (!started) {
      if (norm2 === 0) continue;
      const root = Math.sqrt(ridge * norm2);
      for (let c = 0; c < dim; c++) u[c * dim + c] = root;
      started = true;
    }
    const energy = solvedEnergy(u, x, y, dim);
    scores[j] = energy / (1 + energy);
    cholUpdate(u, x, dim);
  }
  return scores;
}
