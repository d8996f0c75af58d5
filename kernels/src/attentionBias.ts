import * as tf from '@tensorflow/tfjs-core';
import type { Tensor1D, Tensor2D } from '@tensorflow/tfjs-core';

/** Additive logit bias for hidden keys: finite so fully hidden rows never produce 0/0. */
export const MASKED_LOGIT = -1e9;

/**
 * Causal bias block `[rows, cols]` for query rows [q0, q0 + rows) and key columns
 * [k0, k0 + cols): key j is visible to query i iff `j <= i + offset`, offset = nk − nq.
 * Returns null when every pair in the block is visible.
 */
export function causalBiasBlock(q0: number, rows: number, k0: number, cols: number, offset: number): Tensor2D | null {
  if (k0 + cols - 1 <= q0 + offset) return null;
  const data = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const limit = q0 + r + offset - k0; // last visible column in this block
    for (let c = Math.max(0, limit + 1); c < cols; c++) data[r * cols + c] = MASKED_LOGIT;
  }
  return tf.tensor2d(data, [rows, cols]);
}

/** True if no key of the block is visible to any query row of it. */
export function causalBlockHidden(q0: number, rows: number, k0: number, offset: number): boolean {
  return k0 > q0 + rows - 1 + offset;
}

/** Key-padding bias `[nk]` for one batch row of a `[b, nk]` mask (1 keep, 0 hide). */
export function paddingBias(mask: Tensor2D, batchIndex: number): Tensor1D {
  return tf.tidy(() => {
    const row = tf.reshape(tf.slice(mask, [batchIndex, 0], [1, mask.shape[1]]), [mask.shape[1]]);
    return tf.mul(tf.sub(1, tf.cast(row, 'float32')), MASKED_LOGIT) as Tensor1D;
  });
}
