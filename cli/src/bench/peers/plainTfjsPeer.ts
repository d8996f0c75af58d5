import * as tf from '@tensorflow/tfjs-core';
import type { Tensor4D } from '@tensorflow/tfjs-core';
import type { Contender } from '../benchTypes';
import { tfjsRunner } from '../contenders/forceResult';

/**
 * The composition a tfjs user writes first: rank-4 `matMul(q, k, transposeB)` → scale →
 * `softmax` → `matMul(·, v)`. It materialises `[b, h, n, n]` in one tensor.
 *
 * @example const r = await plainTfjsPeer(4096).prepare(inputs);
 */
export function plainTfjsAttention(q: Tensor4D, k: Tensor4D, v: Tensor4D): Tensor4D {
  return tf.tidy(() => {
    const logits = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(q.shape[3])); // [b, h, n, n]
    return tf.matMul(tf.softmax(logits), v) as Tensor4D; // [b, h, n, d]
  });
}

export function plainTfjsPeer(maxN: number): Contender {
  return {
    name: 'tfjs-plain',
    kind: 'peer',
    detail: `@tensorflow/tfjs-core@${tf.version_core} ops: matMul(transposeB) → softmax → matMul on rank-4 tensors`,
    approximatesSoftmax: true,
    maxN,
    async prepare(inputs) {
      return tfjsRunner(() => plainTfjsAttention(inputs.q, inputs.k, inputs.v));
    },
    dispose: () => undefined,
  };
}
