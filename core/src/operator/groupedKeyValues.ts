import * as tf from '@tensorflow/tfjs-core';
import type { Tensor4D } from '@tensorflow/tfjs-core';
import { SwapformerError } from '../errors/SwapformerError';

/**
 * Grouped-query attention's key/value sharing spelled out: `[b, kvHeads, n, d]` →
 * `[b, kvHeads · groups, n, d]`, k/v head j repeated for query heads j·groups … j·groups + groups − 1
 * (transformers' `repeat_kv`). Used for operators that do not take fewer k/v heads themselves,
 * and by those that do, transiently, inside their kernel call.
 *
 * @example const kFull = repeatKeyValueHeads(k, heads / kvHeads);
 */
export function repeatKeyValueHeads(x: Tensor4D, groups: number): Tensor4D {
  if (!Number.isInteger(groups) || groups < 1) throw new SwapformerError('invalid-input', `repeatKeyValueHeads: groups must be a positive integer, got ${groups}.`);
  if (groups === 1) return x;
  const [b, kvHeads, n, d] = x.shape;
  return tf.tidy(() => tf.reshape(tf.tile(tf.reshape(x, [b, kvHeads, 1, n * d]), [1, 1, groups, 1]), [b, kvHeads * groups, n, d]) as Tensor4D);
}

/** `k`/`v` repeated to `queryHeads` heads when they have fewer (grouped-query attention), else as they are. */
export function expandKeyValueHeads(x: Tensor4D, queryHeads: number): Tensor4D {
  const kvHeads = x.shape[1];
  if (kvHeads === queryHeads) return x;
  if (queryHeads % kvHeads !== 0) throw new SwapformerError('invalid-input', `${queryHeads} query heads are not a multiple of ${kvHeads} key/value heads.`);
  return repeatKeyValueHeads(x, queryHeads / kvHeads);
}
