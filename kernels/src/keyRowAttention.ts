import * as tf from '@tensorflow/tfjs-core';
import type { Tensor2D, Tensor4D } from '@tensorflow/tfjs-core';
import type { KernelContext } from '@swapformer/core';
import { softmaxAttention } from './softmaxAttention';
import { canUseWebGpuFusedAttention, fusedWebGpuAttention } from './webgpu/fusedWebGpuAttention';

/**
 * Exact softmax attention over selected key rows of each (batch, k/v head) slice — a coreset, or
 * any subset — for operators that pick their keys (Thinformer). Where the webgpu flash program
 * runs, it reads the rows in place (one dispatch: the two gathers it replaces cost ≈ 0.1 ms of
 * host time each in Node); elsewhere the rows are gathered and the usual kernels run.
 *
 * Shapes: q [b, h, nq, dk], k [b, hk, nk, dk], v [b, hk, nk, dv], keyRows [b·hk, n'] (float32 or
 * int32 positions in [0, nk)) → [b, h, nq, dv].
 *
 * @example const out = keyRowSoftmaxAttention(kernels, q, k, v, coresetPositions, { scale: 0.125 });
 */
export function keyRowSoftmaxAttention(kernels: KernelContext, q: Tensor4D, k: Tensor4D, v: Tensor4D, keyRows: Tensor2D, options: { readonly scale?: number } = {}): Tensor4D {
  const [b, hk, nk, dk] = k.shape;
  if (keyRows.rank !== 2 || keyRows.shape[0] !== b * hk) {
    throw new Error(`keyRowSoftmaxAttention: keyRows must be [b·hk, n'] = [${b * hk}, n'] (one row of positions per batch and k/v head), got [${keyRows.shape.join(', ')}]`);
  }
  if (canUseWebGpuFusedAttention(kernels, q, v)) return fusedWebGpuAttention(q, k, v, { scale: options.scale, keyRows });
  const dv = v.shape[3];
  const selected = keyRows.shape[1];
  return tf.tidy(() => {
    const rows = keyRows.dtype === 'int32' ? keyRows : tf.cast(keyRows, 'int32');
    const pick = (x: Tensor4D, d: number) => tf.reshape(tf.gather(tf.reshape(x, [b * hk, nk, d]), rows, 1, 1), [b, hk, selected, d]) as Tensor4D;
    return softmaxAttention(kernels, q, pick(k, dk), pick(v, dv), { scale: options.scale });
  });
}
