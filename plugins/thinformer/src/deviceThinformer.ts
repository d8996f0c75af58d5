/**
 * Non-causal Thinformer with every tensor on the device (the webgpu backend): the coreset from
 * thinformerWebGpu.ts, then softmax attention over its rows on the kernels package's paths. Same
 * math and seeds as thinformer.ts; the causal form is deviceCausalThinformer.ts.
 *
 * Shapes: q [b, h, nq, dk], k [b, h, nk, dk], v [b, h, nk, dv] → [b, h, nq, dv].
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor4D } from '@tensorflow/tfjs-core';
import type { KernelContext } from '@swapformer/core';
import { keyRowSoftmaxAttention, softmaxAttention, type DeviceUploadCache } from '@swapformer/kernels';
import { compressPlan } from './compressPlan';
import type { CoresetOptions } from './thinformerCoreset';
import { asSlices, deviceCoresets } from './thinformerWebGpu';

/**
 * Non-causal Thinformer with the coreset built on the device (`uploads`: keeps its seeded draws on the device between calls).
 *
 * @example const out = deviceThinformerAttention(kernels, q, k, v, { g: 2, delta: 0.5, seed: 0 }); // on webgpu
 */
export function deviceThinformerAttention(kernels: KernelContext, q: Tensor4D, k: Tensor4D, v: Tensor4D, options: CoresetOptions, uploads?: DeviceUploadCache): Tensor4D {
  const scale = options.scale ?? 1 / Math.sqrt(q.shape[3]);
  const nk = k.shape[2];
  if (compressPlan(nk, options.g, options.delta).nOut === nk) return softmaxAttention(kernels, q, k, v, { scale });
  return tf.tidy(() => {
    const coresets = deviceCoresets(asSlices(k), asSlices(v), [{ lo: 0, hi: nk }], { ...options, scale }, () => options.seed, uploads);
    // the coreset's rows are read in place by the attention (no gathered k and v)
    return keyRowSoftmaxAttention(kernels, q, k, v, coresets.points, { scale });
  });
}
