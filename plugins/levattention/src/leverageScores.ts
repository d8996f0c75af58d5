/**
 * Statistical leverage scores of a key matrix, the "universal set" selector of LevAttention
 * (Kannan, Bhattacharyya, Kacham, Woodruff, ICLR 2025, https://arxiv.org/abs/2410.05462):
 *
 *   τ_j = k_jᵀ (KᵀK + λI)⁻¹ k_j,   λ = ridge · trace(KᵀK) / dk
 *
 * τ_j ∈ [0, 1), Σ_j τ_j = rank(K) (up to the ridge), and τ is unchanged by K → K·M for any
 * invertible M. This is exactly the paper's two-pass streaming algorithm: pass 1 folds every key
 * into the dk×dk Gram G = Σ_j k_j k_jᵀ, pass 2 scores each key against the fixed G.
 *
 * The Gram and its Cholesky factor are accumulated in float64 JS (O(n·dk²) and O(dk³)): float32
 * Gram errors near 1e-6·‖G‖ would swamp a 1e-6 ridge on rank-deficient keys. The per-key products
 * of pass 2 go through one float32 rank-2 matMul per slice, K·W with W Wᵀ = (G + λI)⁻¹; its
 * rounding enters τ squared, so the scores stay accurate to ~1e-6.
 *
 * Shape legend: b batch, h heads, nk keys, dk key dim.
 */
import * as tf from '@tensorflow/tfjs-core';
import { splitSlices } from '@swapformer/kernels';
import type { Tensor2D, Tensor3D, Tensor4D } from '@tensorflow/tfjs-core';

/** The streaming form: pass 1 (`add`) then pass 2 (`scores`), with O(dk²) state. */
export interface LeverageAccumulator {
  readonly dim: number;
  /** Keys folded into G so far. */
  readonly count: number;
  /** Pass 1: folds `count` rows of `rows` (row-major, `dim` columns, from `offset`) into G. */
  add(rows: ArrayLike<number>, offset?: number, count?: number): void;
  /** `dim × dim` row-major W with W Wᵀ = (G + λI)⁻¹, so τ_j = ‖k_j W‖²; all zeros when G = 0. */
  whitening(): Float64Array;
  /** Pass 2: τ of `count` rows against the G of pass 1, in float64. */
  scores(rows: ArrayLike<number>, offset?: number, count?: number): Float64Array;
}

/**
 * Inverse transpose of the Cholesky factor of `G + λI` (lower L, G + λI = L Lᵀ), i.e. L⁻ᵀ,
 * row-major. G is symmetric positive semi-definite in float64, so with λ > 0 every pivot is
 * positive.
 */
function inverseCholeskyTranspose(g: Float64Array, dim: number, lambda: number): Float64Array {
  const l = new Float64Array(dim * dim);
  for (let i = 0; i < dim; i++) {
    for (let j = 0; j <= i; j++) {
      let acc = g[i * dim + j] + (i === j ? lambda : 0);
      for (let t = 0; t < j; t++) acc -= l[i * dim + t] * l[j * dim + t];
      l[i * dim + j] = i === j ? Math.sqrt(Math.max(acc, Number.MIN_VALUE)) : acc / l[j * dim + j];
    }
  }
  // X = L⁻¹ column by column (forward substitution), written transposed: w[col][i] = X[i][col],
  // so w read row-major is W = Xᵀ = L⁻ᵀ.
  const w = new Float64Array(dim * dim);
  for (let col = 0; col < dim; col++) {
    for (let i = col; i < dim; i++) {
      let acc = i === col ? 1 : 0;
      for (let t = col; t < i; t++) acc -= l[i * dim + t] * w[col * dim + t];
      w[col * dim + i] = acc / l[i * dim + i];
    }
  }
  return w;
}

/**
 * Pass 1 kernel: upper triangle of G += Σ rows·rowsᵀ, four rows per sweep over G (a quarter of
 * the loads and stores of G; about 2× faster in V8 than one row at a time).
 */
function accumulateGram(upper: Float64Array, rows: ArrayLike<number>, offset: number, n: number, dim: number, scratch: Float64Array): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = offset + i * dim;
    for (let c = 0; c < 4 * dim; c++) scratch[c] = rows[o + c];
    for (let a = 0; a < dim; a++) {
      const x0 = scratch[a];
      const x1 = scratch[dim + a];
      const x2 = scratch[2 * dim + a];
      const x3 = scratch[3 * dim + a];
      const base = a * dim;
      for (let c = a; c < dim; c++) {
        upper[base + c] += x0 * scratch[c] + x1 * scratch[dim + c] + x2 * scratch[2 * dim + c] + x3 * scratch[3 * dim + c];
      }
    }
  }
  for (; i < n; i++) {
    const o = offset + i * dim;
    for (let a = 0; a < dim; a++) {
      const x = rows[o + a];
      for (let c = a; c < dim; c++) upper[a * dim + c] += x * rows[o + c];
    }
  }
}

/**
 * @param ridge relative ridge: λ = ridge · trace(G) / dim
 * @example
 * const acc = createLeverageAccumulator(64, 1e-6);
 * for (const chunk of keyChunks) acc.add(chunk);       // pass 1
 * for (const chunk of keyChunks) use(acc.scores(chunk)); // pass 2
 */
export function createLeverageAccumulator(dim: number, ridge: number): LeverageAccumulator {
  const upper = new Float64Array(dim * dim); // G, upper triangle
  const scratch = new Float64Array(4 * dim);
  let count = 0;
  let cached: Float64Array | null = null;
  const whitening = (): Float64Array => {
    if (cached) return cached;
    const g = new Float64Array(dim * dim);
    let trace = 0;
    for (let a = 0; a < dim; a++) {
      trace += upper[a * dim + a];
      for (let c = a; c < dim; c++) g[a * dim + c] = g[c * dim + a] = upper[a * dim + c];
    }
    cached = trace > 0 ? inverseCholeskyTranspose(g, dim, (ridge * trace) / dim) : new Float64Array(dim * dim);
    return cached;
  };
  return {
    dim,
    get count() {
      return count;
    },
    add(rows, offset = 0, n = Math.floor((rows.length - offset) / dim)) {
      cached = null;
      accumulateGram(upper, rows, offset, n, dim, scratch);
      count += n;
    },
    whitening,
    scores(rows, offset = 0, n = Math.floor((rows.length - offset) / dim)) {
      const w = whitening();
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        let total = 0;
        for (let t = 0; t < dim; t++) {
          let y = 0;
          for (let c = 0; c < dim; c++) y += rows[offset + i * dim + c] * w[c * dim + t];
          total += y * y;
        }
        out[i] = total;
      }
      return out;
    },
  };
}

/** Leverage scores per (b, h) slice as plain arrays (hidden keys score 0 and are flagged). */
export interface SliceScores {
  /** `[b·h][nk]` scores. */
  readonly scores: Float32Array[];
  /** `[b][nk]` 1 for visible keys, or null when no mask was given. */
  readonly visible: Uint8Array[] | null;
}

/**
 * Batch leverage scores of every slice; `mask` `[b, nk]` hides keys (they neither count in G nor score).
 *
 * @example const { scores } = sliceLeverageScores(k, 1e-6); // scores[bi·h + hi][j]
 */
export function sliceLeverageScores(k: Tensor4D, ridge: number, mask?: Tensor2D): SliceScores {
  const [b, h, nk, dk] = k.shape;
  const kd = k.dataSync();
  const visible = mask ? tf.tidy(() => tf.cast(mask, 'float32').dataSync()) : null;
  const rowsVisible = visible ? Array.from({ length: b }, (_, bi) => Uint8Array.from(visible.subarray(bi * nk, (bi + 1) * nk), (x) => (x !== 0 ? 1 : 0))) : null;
  const whitenings: Float32Array[] = [];
  for (let bi = 0; bi < b; bi++) {
    for (let hi = 0; hi < h; hi++) {
      const acc = createLeverageAccumulator(dk, ridge);
      const offset = (bi * h + hi) * nk * dk;
      if (rowsVisible) {
        const kept: number[] = [];
        for (let j = 0; j < nk; j++) if (rowsVisible[bi][j]) kept.push(j);
        const compact = new Float32Array(kept.length * dk);
        kept.forEach((j, r) => compact.set(kd.subarray(offset + j * dk, offset + (j + 1) * dk), r * dk));
        acc.add(compact);
      } else {
        acc.add(kd, offset, nk);
      }
      whitenings.push(Float32Array.from(acc.whitening()));
    }
  }
  const all = tf.tidy(() => {
    const slices = splitSlices(tf.reshape(k, [b * h, nk, dk]), b * h);
    const perSlice = slices.map((kSlice, s) => tf.sum(tf.square(tf.matMul(kSlice, tf.tensor2d(whitenings[s], [dk, dk]))), 1)); // [nk]
    return tf.stack(perSlice).dataSync() as Float32Array; // [b·h, nk]
  });
  const scores = Array.from({ length: b * h }, (_, s) => {
    const row = all.slice(s * nk, (s + 1) * nk);
    if (rowsVisible) for (let j = 0; j < nk; j++) if (!rowsVisible[Math.floor(s / h)][j]) row[j] = 0;
    return row;
  });
  return { scores, visible: rowsVisible };
}

/**
 * Leverage scores τ `[b, h, nk]` of the keys of every (b, h) slice.
 *
 * @example const tau = leverageScores(k, 1e-6); // Σ over nk ≈ rank of each slice's keys
 */
export function leverageScores(k: Tensor4D, ridge: number, mask?: Tensor2D): Tensor3D {
  const [b, h, nk] = k.shape;
  const { scores } = sliceLeverageScores(k, ridge, mask);
  const out = new Float32Array(b * h * nk);
  scores.forEach((row, s) => out.set(row, s * nk));
  return tf.tensor3d(out, [b, h, nk]);
}
