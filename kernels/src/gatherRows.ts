import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor2D } from '@tensorflow/tfjs-core';
import { SwapformerError } from '@swapformer/core';

/**
 * Rows of a matrix picked by index, `x[indices]`, for operators that sort, select or pad keys
 * and queries and must still pass gradients back to them (KDEformer's bucket order,
 * LevAttention's kept keys).
 *
 * tfjs's own gather gradient needs the UnsortedSegmentSum kernel, which the wasm backend lacks.
 * Here the indices must be distinct, so the gradient is a gather of dy by the inverse index, and
 * that runs on every backend. Index −1 (which may repeat) gives a zero row.
 *
 * Shapes: x [n, d], indices [len] → [len, d].
 *
 * @example const sorted = gatherRows(keys, Int32Array.of(4, 0, 2, -1)); // rows 4, 0, 2 and a zero row
 */
export function gatherRows(x: Tensor2D, indices: ArrayLike<number>): Tensor2D {
  const [n, d] = x.shape;
  const len = indices.length;
  const forward = new Int32Array(len); // n is the appended zero row
  const inverse = new Int32Array(n).fill(len); // len is dy's appended zero row
  for (let p = 0; p < len; p++) {
    const i = indices[p];
    if (i === -1) {
      forward[p] = n;
      continue;
    }
    if (!Number.isInteger(i) || i < 0 || i >= n) {
      throw new SwapformerError('invalid-input', `gatherRows: index ${i} at position ${p} is outside [0, ${n}) (use −1 for a zero row).`);
    }
    if (inverse[i] !== len) {
      throw new SwapformerError('invalid-input', `gatherRows: row ${i} is picked twice (positions ${inverse[i]} and ${p}); indices must be distinct, except −1.`);
    }
    inverse[i] = p;
    forward[p] = i;
  }
  const withZeroRow = (t: Tensor) => tf.concat([t, tf.zeros([1, d])], 0);
  const pick = tf.customGrad((...args: Array<Tensor | tf.GradSaveFunc>) => ({
    value: tf.gather(withZeroRow(args[0] as Tensor), tf.tensor1d(forward, 'int32')),
    gradFunc: (dy: Tensor | Tensor[]) => tf.gather(withZeroRow(dy as Tensor), tf.tensor1d(inverse, 'int32')),
  }));
  return pick(x) as Tensor2D;
}
