import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor2D } from '@tensorflow/tfjs-core';

/**
 * `[count, rows, cols]` → `count` rank-2 slices `[rows, cols]`.
 *
 * tfjs-wasm's Slice (under `split` and `unstack`) copies its whole source for every piece, so a
 * one-level split of many slices costs O(count²) copies of the data; above 16 slices this splits
 * in two levels of ~√count pieces instead (~2√count copies). Differentiable (split + squeeze);
 * unlike `unstack`, it also works under a gradient tape when count is 1.
 *
 * @example const heads = splitSlices(tf.reshape(q, [b * h, n, d]), b * h); // [n, d] each
 */
export function splitSlices(x: Tensor, count: number): Tensor2D[] {
  const groups = count > 16 ? Math.ceil(Math.sqrt(count)) : 1;
  const sizes = groups === 1 ? [count] : Array.from({ length: groups }, (_, g) => Math.floor(count / groups) + (g < count % groups ? 1 : 0));
  const parts = groups === 1 ? [x] : tf.split(x, sizes, 0);
  // A one-piece split is skipped: tfjs's split gradient fails when there is a single output.
  const pieces = parts.flatMap((part, g) => (sizes[g] === 1 ? [part] : tf.split(part, sizes[g], 0)));
  return pieces.map((t) => tf.squeeze(t, [0]) as Tensor2D);
}
