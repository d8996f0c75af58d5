/**
 * Non-causal Thinformer with every tensor on the device (the webgpu backend): the coreset from
 * thinformerWebGpu.ts, then softmax attention against it on the kernels package's paths. Same
 * math and seeds as thinformer.ts; the causal form is deviceCausalThinformer.ts.
 *
 * Shapes: q [b, h, nq, dk], k [b, h, nk, dk], v [b, h, nk, dv] → [b, h, nq, dv].
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor4D } from '@tensorflow/tfjs-core';
import type { KernelContext } from '@swapformer/core';
import { softmaxAttention, type DeviceUploadCache } from '@swapformer/kernels';
import { compressPlan } from './compressPlan';
import type { CoresetOptions } from './thinformerCoreset';
import { asSlices, deviceCoresets, gatherCoresetRows } from './thinformerWebGpu';

/**
 * Non-causal Thinformer with the coreset built on the device (`uploads`: keeps its seeded draws on the device between calls).
 *
 * @example const out = deviceThinformerAttention(kernels, q, k, v, { g: 2, delta: 0.5, seed: 0 }); // on webgpu
 */
export function deviceThinformerAttention(kernels: KernelContext, q: Tensor4D, k: Tensor4D, v: Tensor4D, options: CoresetOptions, uploads?: DeviceUploadCache): Tensor4D {
  const scale = options.scale ?? 1 / Math.sqrt(q.shape[3]);
  const [b, h, nk, dk] = k.shape;
  const dv = v.shape[3];
  if (compressPlan(nk, options.g, options.delta).nOut === nk) return softmaxAttention(kernels, q, k, v, { scale });
  return tf.tidy(() => {
    const ks = asSlices(k);
    const vs = asSlices(v);
    const coresets = deviceCoresets(ks, vs, [{ lo: 0, hi: nk }], { ...options, scale }, () => options.seed, uploads);
    const { nOut } = coresets.plan;
    const keys = tf.reshape(gatherCoresetRows(ks, coresets), [b, h, nOut, dk]) as Tensor4D;
    const values = tf.reshape(gatherCoresetRows(vs, coresets), [b, h, nOut, dv]) as Tensor4D;
    return softmaxAttention(kernels, q, keys, values, { scale });
  });
}
