import * as tf from '@tensorflow/tfjs-core';

/**
 * GPU backends (webgpu, webgl, tensorflow): batched products are fast there and every small
 * dispatch costs a fixed amount of host work; wasm and cpu are bound by arithmetic instead.
 *
 * @example if (isGpuBackend()) return rowBlockSoftmaxAttention(q, k, v, options);
 */
export function isGpuBackend(backend: string = tf.getBackend()): boolean {
  return backend !== 'wasm' && backend !== 'cpu';
}
