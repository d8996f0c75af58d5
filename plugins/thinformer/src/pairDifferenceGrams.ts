/**
 * Bucket kernel matrices of one KH-Compress round, reduced to pair-difference Gram matrices
 * (spec §2, KH-halve steps b–c), for every bucket of every (batch, head) slice.
 *
 *   κ((k_a, v_a), (k_b, v_b)) = exp(⟨k̃_a, k̃_b⟩ − c) · (⟨v_a, v_b⟩ + β²)
 *   G_ij = κ(2i, 2j) − κ(2i, 2j+1) − κ(2i+1, 2j) + κ(2i+1, 2j+1)
 *
 * Layout, chosen by measurement on tfjs-wasm: each bucket's Gram products are plain rank-2
 * matMuls whose operands are packed in JS in both the row and the transposed layout (transposeB
 * and batched matMul are ~10× slower, and tf.slice copies its whole source tensor on wasm). The
 * shift c and β² ride along as one extra coordinate: [k̃, 1]·[k̃; −c] = ⟨k̃, k̃⟩ − c and
 * [v, β]·[v; β] = ⟨v, v⟩ + β². exp and the product run on tfjs (faster than Math.exp); κ comes
 * back to JS one bucket at a time, where the pair differences fill the upper triangle of G only
 * (G is symmetric and the walk reads j ≥ i). No [m, S] tensor is ever held.
 *
 * Shapes: s slices (b·h), n thinned points per slice, m points entering the round, S bucket
 * size, M = S/2 pairs. keys [s, n, dk] (already scaled by sqrt(scale)), values [s, n, dv],
 * points [s, m] (positions into n) → G [s' · m/S, M, M] for a range of s' slices (upper triangle
 * j ≥ i filled).
 * Time O(s · m · S · (dk + dv)); memory O(S²) at a time besides the returned G.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor2D } from '@tensorflow/tfjs-core';

/** Stride-thinned key–value pairs of every (batch, head) slice, held in JS. */
export interface ThinnedPairs {
  readonly slices: number;
  /** Points per slice (a power of four). */
  readonly n: number;
  readonly dk: number;
  readonly dv: number;
  /** [slices, n, dk], multiplied by sqrt(scale) so ⟨k̃_a, k̃_b⟩ = scale · ⟨k_a, k_b⟩. */
  readonly keys: Float32Array;
  /** [slices, n, dv]. */
  readonly values: Float32Array;
  /** c = max_j ‖k̃_j‖² per slice (overflow guard; does not change any halving decision). */
  readonly shift: Float64Array;
  /** β = max_jt |v_jt| per slice; appended to every value vector so the coreset also fits A·1. */
  readonly beta: Float64Array;
}

/** Row layout [S, d+1] and column layout [d+1, S] of one bucket, with `last` as the extra coordinate. */
function packBucket(src: Float32Array, d: number, rowBase: number, points: Int32Array, first: number, size: number, lastRow: number, lastCol: number): [Tensor2D, Tensor2D] {
  const d1 = d + 1;
  const rows = new Float32Array(size * d1);
  const cols = new Float32Array(d1 * size);
  for (let p = 0; p < size; p++) {
    const from = (rowBase + points[first + p]) * d;
    rows.set(src.subarray(from, from + d), p * d1);
    rows[p * d1 + d] = lastRow;
    for (let e = 0; e < d; e++) cols[e * size + p] = src[from + e];
    cols[d * size + p] = lastCol;
  }
  return [tf.tensor2d(rows, [size, d1]), tf.tensor2d(cols, [d1, size])];
}

/** κ of one bucket, [S, S] row-major, pulled to JS. */
function bucketKernel(pairs: ThinnedPairs, slice: number, points: Int32Array, first: number, size: number): Float32Array {
  const { n, dk, dv, keys, values } = pairs;
  const beta = pairs.beta[slice];
  const kernel = tf.tidy(() => {
    const [kRows, kCols] = packBucket(keys, dk, slice * n, points, first, size, 1, -pairs.shift[slice]);
    const [vRows, vCols] = packBucket(values, dv, slice * n, points, first, size, beta, beta);
    const logits = tf.matMul(kRows, kCols); // [S, S] ⟨k̃, k̃⟩ − c
    return tf.mul(tf.exp(logits), tf.matMul(vRows, vCols)); // [S, S] κ
  });
  const data = kernel.dataSync() as Float32Array;
  kernel.dispose();
  return data;
}

/**
 * Pair-difference Gram matrices of every bucket of slices [sliceFrom, sliceTo) for one halving
 * round, as [slices, buckets, M, M].
 *
 * @example
 * // one slice whose 8 thinned points enter a round with buckets of S = 4 (M = 2 pairs each)
 * const gram = pairDifferenceGrams(pairs, new Int32Array([0, 1, 2, 3, 4, 5, 6, 7]), 8, 4);
 * // gram: [2 buckets, 2, 2]; entries (0, 0), (0, 1), (1, 1) of each bucket are filled
 */
export function pairDifferenceGrams(pairs: ThinnedPairs, points: Int32Array, m: number, bucketSize: number, sliceFrom = 0, sliceTo = pairs.slices): Float32Array {
  const S = bucketSize;
  const M = S / 2;
  const buckets = m / S;
  const gram = new Float32Array((sliceTo - sliceFrom) * buckets * M * M);
  for (let slice = sliceFrom; slice < sliceTo; slice++) {
    for (let t = 0; t < buckets; t++) {
      const kappa = bucketKernel(pairs, slice, points, slice * m + t * S, S);
      const gBase = ((slice - sliceFrom) * buckets + t) * M * M;
      for (let i = 0; i < M; i++) {
        const even = 2 * i * S;
        const odd = even + S;
        const row = gBase + i * M;
        // float32 like the reference: column differences first, then rows
        for (let j = i; j < M; j++) {
          const c = 2 * j;
          gram[row + j] = Math.fround(kappa[even + c] - kappa[even + c + 1]) - Math.fround(kappa[odd + c] - kappa[odd + c + 1]);
        }
      }
    }
  }
  return gram;
}
